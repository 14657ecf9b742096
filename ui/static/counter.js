// The question box's counter (polled: the box is also emptied by the server) and a notice when a
// paste is cut at the box's limit (js_on_load of #rag-counter).
const hook = (tries) => {
  const box = document.querySelector('#rag-question textarea');
  if (!box) { if (tries > 0) setTimeout(() => hook(tries - 1), 100); return; }
  const limit = () => Number(element.querySelector('.rag-counter').dataset.limit);
  const show = () => {
    const ctr = element.querySelector('.rag-counter');
    ctr.textContent = ctr.dataset.template.replace('{n}', box.value.length).replace('{max}', limit());
    if (box.value.length < limit()) element.querySelector('.rag-cut').hidden = true;
  };
  box.addEventListener('input', show);
  box.addEventListener('paste', (e) => {
    const text = (e.clipboardData || window.clipboardData).getData('text') || '';
    const room = limit() - box.value.length + (box.selectionEnd - box.selectionStart);
    if (text.length > room) {
      const cut = element.querySelector('.rag-cut');
      cut.textContent = cut.dataset.template.split('{max}').join(limit());
      setTimeout(() => { cut.hidden = false; }, 0);
    }
  });
  setInterval(show, 400);
  box.dataset.ragHooked = '1';  // the listeners are on: what a test waits for before it pastes
};
hook(100);
