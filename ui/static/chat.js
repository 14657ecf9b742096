// The conversation (js_on_load of #rag-chat). Clicks on citation (and related-section) buttons become
// a Gradio "click" event carrying which one; the listener is on the component root, so it survives
// every re-render of the conversation. When a new answer (or refusal) appears, focus goes back to the
// question box, once it is enabled.
element.addEventListener('click', (e) => {
  const b = e.target.closest('button[data-n]');
  if (b) { trigger('click', {turn: Number(b.dataset.turn), n: Number(b.dataset.n)}); return; }
  const r = e.target.closest('button[data-related]');
  if (r) trigger('click', {turn: Number(r.dataset.turn), related: Number(r.dataset.related)});
});
let answered = null, asked = null;
const focusBox = (tries) => {
  const box = document.querySelector('#rag-question textarea');
  if (box && !box.disabled) box.focus({preventScroll: true});
  else if (tries > 0) setTimeout(() => focusBox(tries - 1), 50);
};
// The newest exchange comes into view: inside the chat box (its start when it is taller than
// the box), then in the window down to the question box, or, on a phone, down to the question
// bar fixed to the bottom edge; the exchange's start stays on screen either way.
const reveal = () => {
  const c = element.querySelector('.rag-chat'); const last = c && c.querySelector('.rag-turn:last-child');
  if (!last) return;
  const inBox = last.getBoundingClientRect().top - c.getBoundingClientRect().top;
  c.scrollTop = last.offsetHeight > c.clientHeight ? c.scrollTop + inBox : c.scrollHeight;
  const bar = document.querySelector('#rag-ask-row');
  const fixed = !bar || getComputedStyle(bar).position === 'fixed';
  const top = last.getBoundingClientRect().top;
  const end = fixed ? last.getBoundingClientRect().bottom : bar.getBoundingClientRect().bottom;
  const limit = (fixed && bar ? bar.getBoundingClientRect().top : window.innerHeight) - 8;
  if (top >= 0 && end <= limit) return;
  window.scrollBy({top: Math.min(top - 8, end - limit), behavior: 'instant'});
};
watch('value', () => {
  const n = element.querySelectorAll('.rag-a[data-found], .rag-error').length;
  const q = element.querySelectorAll('.rag-turn').length;
  if (q !== asked || n !== answered) requestAnimationFrame(reveal);
  if (answered !== null && n > answered) focusBox(100);
  answered = n; asked = q;
});
