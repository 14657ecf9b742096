// The full text (js_on_load of #rag-document): a contents entry scrolls to its heading.
element.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-target]');
  const h = b && element.querySelector('#' + CSS.escape(b.dataset.target));
  if (h) h.scrollIntoView({block: 'start', behavior: 'smooth'});
});
