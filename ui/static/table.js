// The commitments table (js_on_load of #rag-commitments). A column name sorts the rows in the page,
// data-row keeping each row's index for opening it. Figure columns sort by their number, with the cells
// that have none after them; text in Chinese order; empty cells last either way; ties in the report's order.
const sortBy = (th) => {
  const dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
  for (const h of th.parentNode.children) h.removeAttribute('aria-sort');
  th.setAttribute('aria-sort', dir);
  const col = [...th.parentNode.children].indexOf(th), body = th.closest('table').tBodies[0];
  const numeric = th.dataset.sort === 'number';
  const text = (tr) => tr.cells[col].textContent.trim();
  const num = (s) => { const m = s.replace(/,/g, '').match(/-?\d+(?:\.\d+)?/); return m ? parseFloat(m[0]) : null; };
  const rank = (s) => s === '' || s === '—' ? 2 : numeric && num(s) === null ? 1 : 0;
  const rows = [...body.rows];
  rows.sort((a, b) => {
    const x = text(a), y = text(b), rx = rank(x), ry = rank(y);
    if (rx !== ry) return rx - ry;
    const c = (numeric && rx === 0 ? num(x) - num(y) : 0) || x.localeCompare(y, 'zh-Hans-CN', {numeric: true});
    return c ? (dir === 'ascending' ? c : -c) : Number(a.dataset.row) - Number(b.dataset.row);
  });
  body.append(...rows);
};
element.addEventListener('click', (e) => {
  const sort = e.target.closest('button.rag-sort');
  if (sort) { sortBy(sort.closest('th')); return; }
  const row = e.target.closest('tr[data-row]');
  if (row) trigger('click', {row: Number(row.dataset.row)});
});
element.addEventListener('keydown', (e) => {
  const row = e.target.closest('tr[data-row]');
  if (row && (e.key === 'Enter' || e.key === ' ')) { e.preventDefault(); trigger('click', {row: Number(row.dataset.row)}); }
});
