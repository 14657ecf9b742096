// A commitment's source (js_on_load of #rag-commitment-source) sits below the table (far below on a
// phone): bring it into view and focus it.
watch('value', () => {
  const panel = element.querySelector('.rag-source-panel');
  const m = element.querySelector('mark');
  if (!m || !panel) return;
  panel.focus({preventScroll: true});
  m.scrollIntoView({block: 'center'});
});
