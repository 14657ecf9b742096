// Skip links and «back to chat» move focus, not only the scroll position; installed once per page
// (js_on_load of #rag-skip).
document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-focus]');
  if (!a) return;
  const el = document.querySelector(a.dataset.focus);
  if (!el) return;
  e.preventDefault();
  el.scrollIntoView({block: 'center'});
  el.focus({preventScroll: true});
});
