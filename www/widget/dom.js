// Small DOM helpers shared by the widget's views.

/** `<tag attrs…>children</tag>`; `text` sets the text, `true` an empty attribute, false/null none. */
export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === false || v == null) continue;
    if (k === 'text') e.textContent = v; else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children);
  return e;
}

/** "4.2 s" or "3 min 12 s". */
export function fmtTime(s) {
  const m = Math.floor(s / 60);
  return m ? `${m} min ${Math.round(s % 60)} s` : `${s.toFixed(1)} s`;
}

export const reducedMotion = () => globalThis.matchMedia?.('(prefers-reduced-motion: reduce)').matches;
