// Keyboard behaviour shared by the course's controls (loaded by bertcourse.course.controls.CourseControls).
//
// data-lm-suppress-shortcuts on the box: JupyterLab (Lumino) then ignores its keyboard shortcuts
// for keys pressed inside it, so Enter on a button presses the button instead of editing the
// cell, and arrow keys no longer move to other cells.
//
// Focus keeping:
// When the kernel disables or hides the control that has keyboard focus (Check after checking,
// Try again, the last Hint, "Yes, show it"), the browser drops focus to the page body and a
// keyboard user has to Tab in from the top. This moves focus to where the learner goes next:
// - Check -> the question's Try again (once the kernel enables it);
// - Try again -> the question's chosen option, or its first input;
// - anything else -> the next usable control in the same box, else the one before it.

const FOCUSABLE = "button, input, select, textarea, [tabindex]:not([tabindex='-1'])";
const WAIT_FRAMES = 120; // the kernel enables the next control in a later message

function usable(element) {
  return element.isConnected && !element.disabled && element.getClientRects().length > 0;
}

function preferred(lost) {
  const question = lost.closest(".bertcourse-question");
  if (!question) return null;
  if (lost.matches(".bertcourse-check")) return question.querySelector(".bertcourse-retry");
  if (lost.matches(".bertcourse-retry")) {
    return question.querySelector("input:checked") ?? question.querySelector("input, textarea, select");
  }
  return null;
}

function neighbour(box, lost) {
  const all = [...box.querySelectorAll(FOCUSABLE)];
  const after = all.filter((el) => lost.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING);
  const before = all.filter((el) => lost.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_PRECEDING);
  return after.find(usable) ?? before.reverse().find(usable) ?? null;
}

// Chromium may leave a disabled button as the active element although it no longer takes keys.
function focusLost(lost) {
  const active = document.activeElement;
  return active === null || active === document.body || active === lost;
}

function rescue(box, lost) {
  let frames = 0;
  const step = () => {
    if (!focusLost(lost)) return; // the learner moved on meanwhile
    const target = preferred(lost);
    if (target && usable(target)) {
      target.focus();
    } else if (frames++ < WAIT_FRAMES && target) {
      requestAnimationFrame(step);
    } else {
      neighbour(box, lost)?.focus();
    }
  };
  requestAnimationFrame(step);
}

export default {
  render({ el }) {
    let frames = 0;
    let box = null;
    let current = null;
    const onFocusin = (event) => { current = event.target; };
    const observer = new MutationObserver(() => {
      if (current && !usable(current) && focusLost(current)) {
        const lost = current;
        current = null;
        rescue(box, lost);
      }
    });
    // The box attaches this view's element after render() returns: wait for it.
    const attach = () => {
      box = el.closest(".bertcourse-controls");
      if (box) {
        box.setAttribute("data-lm-suppress-shortcuts", "true");
        box.addEventListener("focusin", onFocusin);
        observer.observe(box, { attributes: true, attributeFilter: ["disabled", "style", "class"], subtree: true });
      } else if (frames++ < 600) {
        requestAnimationFrame(attach);
      }
    };
    attach();
    return () => {
      observer.disconnect();
      box?.removeEventListener("focusin", onFocusin);
    };
  },
};
