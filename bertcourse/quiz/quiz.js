// Keyboard behaviour of a bertcourse quiz (loaded by widget.QuizKeys, an invisible anywidget
// placed inside the quiz). It works on the quiz element around it (JupyterLab's own shortcuts are
// already switched off inside it by bertcourse/course/controls.js):
// - arrow keys move between the options of a question (ipywidgets' radio inputs carry no shared
//   name, so the browser does not treat them as one group), selecting as they move, as in any
//   radio group, and only the current option is a Tab stop, so Tab moves on to Check;
// - Enter in a text answer checks it: the text goes to the kernel with the request (QuizKeys.submit),
//   because ipywidgets holds back the field's last keystrokes while earlier ones are in flight, so
//   a click on Check right after typing could be graded on a shorter answer. It listens in the
//   capture phase, because ipywidgets' text field stops its keydown events from bubbling.

const STEP = { ArrowDown: 1, ArrowRight: 1, ArrowUp: -1, ArrowLeft: -1 };

function radiosBeside(radio) {
  return [...radio.closest(".widget-radio-box").querySelectorAll('input[type="radio"]')];
}

function makeOnlyTabStop(radio) {
  for (const other of radiosBeside(radio)) other.tabIndex = other === radio ? 0 : -1;
}

function moveSelection(radio, step) {
  const group = radiosBeside(radio).filter((other) => !other.disabled);
  const next = group[(group.indexOf(radio) + step + group.length) % group.length];
  makeOnlyTabStop(next);
  next.focus();
  next.click(); // ipywidgets listens for clicks: this also tells the kernel
}

function onFocusin(event) {
  if (event.target instanceof HTMLInputElement && event.target.type === "radio") makeOnlyTabStop(event.target);
}

function onKeydown(model, quiz, event) {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.disabled || event.altKey || event.ctrlKey || event.metaKey) {
    return;
  }
  if (input.type === "radio" && STEP[event.key]) {
    event.preventDefault();
    moveSelection(input, STEP[event.key]);
  } else if (input.type === "text" && event.key === "Enter" && !event.shiftKey) {
    const question = input.closest(".bertcourse-question");
    const check = question?.querySelector("button.bertcourse-check");
    if (check && !check.disabled) {
      event.preventDefault();
      const index = [...quiz.querySelectorAll(".bertcourse-question")].indexOf(question);
      model.send({ event: "submit", question: index, value: input.value });
    }
  }
}

export default {
  render({ model, el }) {
    let frames = 0;
    let quiz = null;
    const listener = (event) => onKeydown(model, quiz, event);
    // The quiz box attaches this view's element after render() returns: wait for it.
    const attach = () => {
      quiz = el.closest(".bertcourse-quiz");
      if (quiz) {
        quiz.addEventListener("keydown", listener, true);
        quiz.addEventListener("focusin", onFocusin);
      } else if (frames++ < 600) {
        requestAnimationFrame(attach);
      }
    };
    attach();
    return () => {
      quiz?.removeEventListener("keydown", listener, true);
      quiz?.removeEventListener("focusin", onFocusin);
    };
  },
};
