/** The report page's stylesheet, inlined in report.html (system fonts only: nothing is fetched). */
export const PAGE_STYLE = `
:root { --fg: #1d2228; --muted: #5b6470; --line: #d9dde2; --bg: #f6f7f9; --accent: #2f6fb3; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header, section { max-width: 1500px; margin: 0 auto; padding: 14px 24px; }
header { padding-top: 22px; }
h1 { font-size: 21px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 8px 0 10px; }
.sub { color: var(--muted); margin: 0; }
.card { background: white; border: 1px solid var(--line); border-radius: 8px; padding: 14px 16px; }
table { border-collapse: collapse; }
#summary-table th, #summary-table td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: right; font-variant-numeric: tabular-nums; }
#summary-table th:first-child, #summary-table td:first-child { text-align: left; }
#summary-table thead th { border-bottom: 2px solid var(--fg); white-space: nowrap; }
#summary-table tr.source td { color: var(--muted); }
#paired .scroll { overflow-x: auto; }
#paired-table { border-collapse: collapse; }
#paired-table th, #paired-table td { padding: 5px 12px; border-bottom: 1px solid var(--line); text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
#paired-table th:first-child, #paired-table td:first-child { text-align: left; }
#paired-table td.better { color: #1b7f3b; font-weight: 600; }
#paired-table td.worse { color: #b3261e; font-style: italic; }
.caption { color: var(--muted); margin: 8px 0 0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 6px; vertical-align: baseline; }
#plots { display: grid; grid-template-columns: repeat(auto-fill, minmax(440px, 1fr)); gap: 10px; }
#plots figure { margin: 0; background: white; border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
#plots svg { max-width: 100%; height: auto; }
#plots figcaption { color: var(--muted); font-size: 12px; margin-top: 2px; }
.controls { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: center; margin-bottom: 10px; }
.controls label { color: var(--muted); }
select, button { font: inherit; padding: 3px 6px; border: 1px solid var(--line); border-radius: 5px; background: white; color: var(--fg); }
button { cursor: pointer; }
#gallery { width: 100%; table-layout: fixed; background: white; border: 1px solid var(--line); border-radius: 8px; }
#gallery th.stem { width: 8.5em; }
#gallery th, #gallery td { padding: 6px 6px; vertical-align: top; border-bottom: 1px solid var(--line); }
#gallery thead th { position: sticky; top: 0; background: white; z-index: 1; text-align: left; font-weight: 600; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
#gallery th.stem { text-align: left; font-weight: 600; white-space: nowrap; }
#gallery .key, #key-header { font-weight: normal; font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; white-space: normal; }
#gallery figure { margin: 0; }
#gallery img { display: block; width: 100%; height: auto; cursor: zoom-in; border-radius: 3px; background: #222; }
#gallery figcaption { font-size: 12px; color: var(--muted); font-variant-numeric: tabular-nums; min-height: 1.2em; }
#gallery figcaption.best { color: #1b7f3b; font-weight: 600; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 3px 14px; margin: 0; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
code { font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; background: var(--bg); padding: 1px 4px; border-radius: 3px; }
#viewer { position: fixed; inset: 0; background: #0c0e12; color: #e8eaed; z-index: 10; display: flex; flex-direction: column; }
#viewer[hidden] { display: none; }
#viewer .bar { display: flex; gap: 12px; align-items: center; padding: 8px 14px; }
#viewer .bar .title { font-weight: 600; }
#viewer .bar .hint { color: #9aa0a6; font-size: 12px; margin-left: auto; }
#viewer .bar button { background: #2a2e35; color: #e8eaed; border-color: #444; }
#viewer .panes { flex: 1; display: grid; gap: 6px; padding: 0 8px 8px; min-height: 0; }
#viewer .pane { display: flex; flex-direction: column; min-height: 0; }
#viewer .pane .label { font-size: 13px; padding: 2px 4px; }
#viewer .pane.clicked .label { color: #8ab4f8; }
#viewer .frame { position: relative; overflow: hidden; flex: 1; background: #000; cursor: grab; touch-action: none; }
#viewer .frame:active { cursor: grabbing; }
#viewer .frame img { position: absolute; left: 0; top: 0; transform-origin: 0 0; user-select: none; -webkit-user-drag: none; max-width: none; }
#viewer .frame img.pixelated { image-rendering: pixelated; }
`;
