// The widget's shadow-DOM stylesheet: every colour and the font through --mnist-dae-* custom
// properties, every part through ::part().

export const STYLE = `
:host { display: block; contain: content; }
:host([hidden]) { display: none; }
/* A control group the \`controls\` attribute leaves out, whatever display its rule gives it. */
[hidden] { display: none !important; }
.root {
  all: initial; display: block; box-sizing: border-box; max-width: 100%;
  /* --mnist-dae-font is a font-family list, --mnist-dae-font-size a length (README). */
  font: var(--mnist-dae-font-size, 14px)/1.45 var(--mnist-dae-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  color: var(--mnist-dae-fg, #1d232b); background: var(--mnist-dae-bg, #fff);
  border: 1px solid var(--mnist-dae-border, #d5dae1); border-radius: var(--mnist-dae-radius, 10px);
  padding: 14px;
}
.root *, .root *::before, .root *::after { box-sizing: border-box; }
h1, h2, h3, h4, h5, h6 { font-size: 13px; font-weight: 600; margin: 0 0 6px; text-transform: uppercase; letter-spacing: .04em; color: var(--mnist-dae-muted, #5b6570); }
button, select, input { font: inherit; color: inherit; }
input[type=range], progress { accent-color: var(--mnist-dae-accent, #2563eb); }
button {
  border: 1px solid var(--mnist-dae-accent, #2563eb); background: var(--mnist-dae-bg, #fff);
  color: var(--mnist-dae-accent, #2563eb); border-radius: 6px; padding: 5px 11px; cursor: pointer; min-height: 32px;
}
button.primary { background: var(--mnist-dae-accent, #2563eb); color: var(--mnist-dae-on-accent, #fff); }
button:disabled { opacity: .5; cursor: not-allowed; }
button:focus-visible, select:focus-visible, input:focus-visible, canvas:focus-visible { outline: 3px solid var(--mnist-dae-focus, #b45309); outline-offset: 2px; }
select, input[type=number] { border: 1px solid var(--mnist-dae-border, #c3cad3); border-radius: 6px; padding: 4px 6px; background: var(--mnist-dae-bg, #fff); min-height: 32px; }
input[type=number] { width: 5.5em; }
label { display: inline-flex; align-items: center; gap: 6px; }
.row { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: center; }
.grid { display: grid; gap: 16px; grid-template-columns: 1fr; margin-top: 12px; }
@media (min-width: 900px) { .grid.train { grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); } }
section { min-width: 0; }
.status { min-height: 1.45em; font-weight: 500; }
.status.error { color: var(--mnist-dae-error, #b42318); }
.note { color: var(--mnist-dae-muted, #5b6570); font-size: 13px; }
.backend details { display: inline; }
.backend summary { display: inline; cursor: pointer; color: var(--mnist-dae-accent, #2563eb); }
.backend details[open] span { display: block; }
.field-error { color: var(--mnist-dae-error, #b42318); font-size: 13px; margin: 4px 0 0; }
.run-line { font-size: 13px; color: var(--mnist-dae-muted, #5b6570); font-variant-numeric: tabular-nums; }
label.file { flex-wrap: wrap; }
label.file input { max-width: 100%; }
.warn { color: var(--mnist-dae-warn, #9a3412); font-size: 13px; }
.bar { display: flex; gap: 10px; align-items: center; margin-top: 8px; }
progress { width: 100%; height: 8px; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(90px, 1fr)); gap: 6px; margin: 10px 0 0; }
.stats div { background: var(--mnist-dae-tile, #f3f5f8); border-radius: 6px; padding: 4px 8px; }
.stats dt { font-size: 11px; color: var(--mnist-dae-muted, #5b6570); }
.stats dd { margin: 0; font-variant-numeric: tabular-nums; font-weight: 600; }
.panels { display: grid; grid-template-columns: auto minmax(0, 1fr); gap: 4px 8px; align-items: center; }
.panels span { font-size: 12px; color: var(--mnist-dae-muted, #5b6570); }
/* Each digit is at most --mnist-dae-digit-size wide (a 28-pixel image blown up further only
   blurs the page) and never under its 28 pixels: a box too narrow for that scrolls. */
canvas.strip, canvas.digit { width: 100%; image-rendering: pixelated; background: #000; border-radius: 3px; display: block; }
canvas.strip { width: min(100%, calc(var(--n, 8) * var(--mnist-dae-digit-size, 64px))); min-width: calc(var(--n, 8) * 28px); }
.panels, .scroll { overflow-x: auto; }
canvas.digit { width: 84px; height: 84px; }
.inside-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 8px 12px; align-items: start; }
.inside-grid figure { margin: 0; }
.inside-grid figcaption { font-size: 12px; color: var(--mnist-dae-muted, #5b6570); }
canvas.tiles { display: block; width: 100%; image-rendering: pixelated; background: #000; border-radius: 3px; }
canvas.tiles[data-stage="input"] { width: 56px; }
canvas.tiles[data-stage="enc1.weight"] { background: #fff; }
.latent-map { display: flex; flex-wrap: wrap; gap: 8px 14px; align-items: flex-start; }
canvas.map { width: min(100%, 360px); aspect-ratio: 1; border: 1px solid var(--mnist-dae-border, #d5dae1); border-radius: 3px; background: #fff; display: block; }
.legend { list-style: none; margin: 0; padding: 0; display: grid; grid-template-columns: repeat(5, auto); gap: 4px 10px; font-size: 13px; }
.legend li { display: flex; align-items: center; gap: 4px; }
.swatch { width: 12px; height: 12px; border-radius: 2px; display: inline-block; }
[data-depth="1"] { font-size: 13px; font-weight: 600; margin: 10px 0 4px; text-transform: none; letter-spacing: normal; color: inherit; }
.pad { display: flex; gap: 10px; align-items: flex-end; flex-wrap: wrap; }
.pad canvas.draw { width: 140px; height: 140px; touch-action: none; background: #000; border-radius: 6px; cursor: crosshair;
  /* A ring, not a border: the pad's drawing coordinates stay its box's. On a dark page it is
     what shows where the black pad ends. */
  box-shadow: 0 0 0 2px var(--mnist-dae-pad-border, var(--mnist-dae-border, #c3cad3)); }
.pad figure, .sanity figure { margin: 0; text-align: center; font-size: 12px; }
.sanity { display: flex; gap: 14px; flex-wrap: wrap; align-items: flex-end; }
.plot { min-height: 220px; }
.log { margin: 2px 0 0; padding: 0; list-style: none; font-size: 13px; color: var(--mnist-dae-muted, #5b6570); }
.log li:first-child { color: inherit; }
.confirm { background: var(--mnist-dae-tile, #fff7ed); border: 1px solid var(--mnist-dae-warn, #fdba74); border-radius: 6px; padding: 8px; margin-top: 8px; }
.denoise .panels { margin-top: 6px; }
/* Small screens and touch: targets of at least 44 px (WCAG 2.5.5), digits of at least 40 px
   (the strip scrolls rather than shrink them further), row labels above their digits. */
@media (max-width: 600px), (pointer: coarse) {
  button, select, input[type=number], input[type=file], summary { min-height: 44px; }
  input[type=range] { min-height: 44px; }
  .backend summary { display: inline-flex; align-items: center; }
}
@media (max-width: 480px) {
  .root { padding: 10px; }
  .panels { grid-template-columns: minmax(0, 1fr); }
  canvas.strip { min-width: calc(var(--n, 8) * 40px); }
}
@media (prefers-reduced-motion: reduce) { * { transition: none !important; animation: none !important; } }
`;
