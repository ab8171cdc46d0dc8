// Lets bertviz's head_view / model_view draw in JupyterLab 4 (see attention.bertviz_view).
// bertviz's script calls RequireJS (require.config, then requirejs([...], draw)), which the
// classic notebook and Colab provide and JupyterLab does not. This file is the start of the
// script bertviz_view emits; bertviz's own script follows it unchanged, so its `require` and
// `requirejs` are the two below:
// - where RequireJS exists, they hand over to it;
// - elsewhere they load bertviz's d3 and jQuery (the CDN paths bertviz configures) with plain
//   script elements, one after the other, then draw;
// - if a script cannot load (offline) or takes too long, the note beside the view says to use
//   the course's own attention explorer instead.
// bertviz's controls (LAYOUT, defined before this file) are put on the page only when it draws, so
// neither an offline run nor a saved notebook opened from disk (whose scripts do not run) shows
// an empty "Layer:" menu.
const box = document.currentScript.closest(".bertcourse-bertviz");
const note = box.querySelector(".bertcourse-bertviz-note");
const view = box.querySelector(".bertcourse-bertviz-view");
const TIMEOUT_MS = 20000;
const GLOBALS = { jquery: () => window.jQuery, d3: () => window.d3 };
const paths = {};
let settled = false;

const require = { config: (options) => Object.assign(paths, options.paths) };

function offline(reason) {
  if (settled) return;
  settled = true;
  note.textContent = `This bertviz view could not load its scripts (${reason}): it needs internet access. ` +
    "Use the attention explorer above (AttentionExplorer), which works offline.";
  note.dataset.state = "offline";
}

function draw(callback, modules) {
  if (settled) return;
  settled = true;
  const whenShown = () => {
    if (!box.isConnected) return requestAnimationFrame(whenShown); // bertviz looks its elements up by id
    note.remove();
    view.innerHTML = LAYOUT;
    callback(...modules);
  };
  whenShown();
}

function requirejs(names, callback) {
  if (typeof window.requirejs === "function" && typeof window.require?.config === "function") {
    window.require.config({ paths });
    window.requirejs(names, (...modules) => draw(callback, modules), () => offline("RequireJS failed"));
    return;
  }
  setTimeout(() => offline(`no answer within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);
  const next = (index) => {
    if (index === names.length) return draw(callback, names.map((name) => GLOBALS[name]()));
    if (GLOBALS[names[index]]()) return next(index + 1); // already loaded by an earlier view
    const script = document.createElement("script");
    script.src = `${paths[names[index]]}.js`;
    script.onload = () => next(index + 1);
    script.onerror = () => offline(`${script.src} did not load`);
    document.head.appendChild(script);
  };
  next(0);
}
