// The cited-section panel (js_on_load of #rag-source): the highlighted quote comes into view, and the
// panel takes focus.
watch('value', () => {
  const panel = element.querySelector('.rag-source-panel');
  const m = element.querySelector('mark');
  if (!m) return;
  if (panel) panel.focus({preventScroll: true});
  m.scrollIntoView({block: 'center', behavior: 'smooth'});
});
