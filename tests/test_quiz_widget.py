"""The quiz widgets, driven from Python the way a learner drives them in the browser:
set a value, click a button, read what the widget shows."""

from __future__ import annotations

import html
import re

import ipywidgets as widgets
import pytest
import yaml

from bertcourse.course.errors import CourseError
from bertcourse.quiz import overview
from bertcourse.quiz import widget as quiz_widget
from bertcourse.quiz.bank import parse_bank
from bertcourse.quiz.overview import ProgressView
from bertcourse.quiz.store import ProgressStore
from bertcourse.quiz.widget import QuizKeys, QuizView
from bertcourse.tools.quiz_author import hash_entry

SALT = "0123456789abcdef0123456789abcdef"
ENTRIES = [
    {"id": "pick", "type": "single", "text": "Which token starts every `input`?", "hint": "Think classification.",
     "explanation": "SECRET-GENERAL",
     "choices": [{"text": "[CLS]", "correct": True, "explanation": "SECRET-RIGHT"},
                 *({"text": t, "explanation": f"SECRET-{t}"} for t in ["[SEP]", "[PAD]", "[UNK]", "[MASK]", "##"])]},
    {"id": "many", "type": "multiple", "text": "Pick the encoder traits", "hint": "Two of them.",
     "choices": [{"text": "bidirectional", "correct": True}, {"text": "one vector per token", "correct": True},
                 {"text": "causal mask", "explanation": "No causal mask in BERT."}]},
    {"id": "layers", "type": "numeric", "text": "Layers in BERT-Base?", "hint": "A dozen.",
     "answer": 12, "tolerance": 0, "step": 1, "unit": "layers"},
    {"id": "word", "type": "text", "text": "Subword algorithm?", "hint": "Pieces.", "answers": ["WordPiece"]},
    {"id": "count", "type": "computed", "text": "Tokens in \"{sentence}\"?", "hint": "Count them.",
     "compute": "token_count", "args": {"sentence": "a b c"}, "tolerance": 0},
]


class SplitTokenizer:
    """Stands in for a Hugging Face tokenizer: whitespace split plus [CLS] and [SEP]."""

    def __call__(self, text: str) -> dict[str, list[int]]:
        return {"input_ids": [101, *range(len(text.split())), 102]}


@pytest.fixture
def bank(tmp_path):
    path = tmp_path / "99_widget.yaml"
    path.write_text(yaml.safe_dump({"notebook": "99_widget", "title": "Widget test", "salt": SALT,
                                    "questions": [hash_entry(SALT, e) for e in ENTRIES]}))
    return parse_bank(path)


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "progress.sqlite"
    monkeypatch.setenv("BERTCOURSE_PROGRESS", str(path))
    return path


def view_of(bank, db, **live):
    return QuizView(bank, ProgressStore(db), live or {"tokenizer": SplitTokenizer()})


def choice_id(question_view, text):
    return next(c.id for c in question_view.question.choices if c.text == text)


def shown(html_widget) -> str:
    """What a reader sees in an HTML widget: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_widget.value))


def all_widgets(root):
    yield root
    for child in getattr(root, "children", ()):
        yield from all_widgets(child)


def test_wrong_then_right_answer(bank, db):
    view = view_of(bank, db)
    pick = view.questions[0]
    assert pick.feedback.value == "" and pick.explanation.value == "" and pick.retry_button.disabled

    pick.answer.value = choice_id(pick, "[SEP]")
    pick.check_button.click()
    assert "✗ Incorrect." in pick.feedback.value
    assert "SECRET-[SEP]" in pick.explanation.value and "SECRET-GENERAL" not in pick.explanation.value
    assert pick.answer.disabled and pick.check_button.disabled and not pick.retry_button.disabled
    assert "Score: 0 of 5 correct · 1 of 5 answered" in view.score.value

    pick.retry_button.click()
    assert pick.feedback.value == "" and not pick.answer.disabled and not pick.check_button.disabled
    pick.answer.value = choice_id(pick, "[CLS]")
    pick.check_button.click()
    assert "✓ Correct." in pick.feedback.value
    assert "SECRET-RIGHT" in pick.explanation.value and "SECRET-GENERAL" in pick.explanation.value
    assert "Score: 1 of 5 correct · 1 of 5 answered" in view.score.value
    assert [(a.question, a.correct) for a in ProgressStore(db).attempts()] == [("pick", False), ("pick", True)]


@pytest.mark.parametrize(("question", "typed"), [("layers", "1e4301"), ("count", "1e1000000")])
def test_a_huge_number_is_a_wrong_answer_not_a_crash(bank, db, question, typed):
    """Issue 15, item 5: the ValueError escaped the click handler: no feedback, nothing saved.
    Issue 28, item 4: 1e1000000 on a computed question raised decimal.Overflow in the Check
    callback, so nothing was graded and the old verdict stayed on screen."""
    view = view_of(bank, db)
    field = next(q for q in view.questions if q.question.id == question)
    field.text_field.value = typed
    field.check_button.click()
    assert "✗ Incorrect" in field.feedback.value
    assert [(a.question, a.correct) for a in ProgressStore(db).attempts()] == [(question, False)]


def test_the_latest_answer_counts_and_trying_again_says_so(bank, db):
    view = view_of(bank, db)
    pick = view.questions[0]
    pick.answer.value = choice_id(pick, "[CLS]")
    pick.check_button.click()
    assert shown(pick.feedback).startswith("Your answer: [CLS]. ✓ Correct.")
    assert "1 of 5 correct · 1 of 5 answered (your latest answer to each question counts)" in view.score.value
    pick.retry_button.click()
    assert "the latest answer counts" in shown(pick.feedback)
    assert "1 of 5 correct" in view.score.value  # nothing changes until a new answer is checked
    pick.answer.value = choice_id(pick, "[SEP]")
    pick.check_button.click()
    assert "0 of 5 correct · 1 of 5 answered (your latest answer to each question counts)" in view.score.value


def test_nothing_is_recorded_for_an_empty_or_invalid_answer(bank, db):
    view = view_of(bank, db)
    pick, layers = view.questions[0], view.questions[2]
    pick.check_button.click()
    assert "⚠ Please choose an option first." in pick.feedback.value
    layers.text_field.value = "twelve"
    layers.check_button.click()
    assert "⚠ Please enter a number" in layers.feedback.value and not layers.check_button.disabled
    assert ProgressStore(db).attempts() == []
    layers.text_field.value = "12 layers"
    layers.check_button.click()
    assert "✓ Correct." in layers.feedback.value


def test_hint_appears_only_when_asked(bank, db):
    pick = view_of(bank, db).questions[0]
    assert pick.hint.value == ""
    pick.hint_button.click()
    assert pick.hint.value == "<p><strong>Hint:</strong> Think classification.</p>"


def test_multiple_select_shows_partial_credit(bank, db):
    many = view_of(bank, db).questions[1]
    many.checkboxes[choice_id(many, "bidirectional")].value = True
    many.checkboxes[choice_id(many, "causal mask")].value = True
    many.check_button.click()
    answer, verdict = shown(many.feedback).split(". ", 1)
    assert sorted(answer.removeprefix("Your answer: ").split("; ")) == ["bidirectional", "causal mask"]
    assert verdict == ("✗ Incorrect: 1 of 2 right options chosen, 1 wrong option chosen. "
                       "The question counts only when every option is right.")
    assert "partial credit" not in many.feedback.value  # nothing to credit: no "partial credit 0%"
    assert "No causal mask in BERT." in many.explanation.value
    many.retry_button.click()
    many.checkboxes[choice_id(many, "causal mask")].value = False
    many.checkboxes[choice_id(many, "one vector per token")].value = True
    many.check_button.click()
    assert "✓ Correct: you chose all 2 right options" in many.feedback.value


def test_text_and_computed_questions(bank, db):
    view = view_of(bank, db)
    word, count = view.questions[3], view.questions[4]
    word.text_field.value = "  wordpiece "
    word.check_button.click()
    assert "✓ Correct." in word.feedback.value
    word.retry_button.click()
    word.text_field.value = "word piecing"
    word.check_button.click()
    assert "✗ Incorrect: “word piecing” is not an accepted answer." in shown(word.feedback)
    assert "<strong>Why:</strong>" in word.explanation.value and "compared word for word" in word.explanation.value
    count.text_field.value = "4"
    count.check_button.click()
    assert "✗ Incorrect: 4 is not the answer." in count.feedback.value
    count.retry_button.click()
    count.text_field.value = "5"
    count.check_button.click()
    assert "✓ Correct: your notebook computes 5." in count.feedback.value


def test_missing_live_value_names_the_variable(bank, db):
    view = QuizView(bank, ProgressStore(db), {})
    count = view.questions[4]
    assert shown(count.feedback) == ("⚠ This question needs your notebook's tokenizer: "
                                     'run bc.take_quiz("99_widget", tokenizer=tokenizer).')
    assert count.check_button.disabled and count.text_field.disabled and count.retry_button.disabled
    assert not view.questions[0].check_button.disabled  # the rest of the quiz still works


def test_broken_live_value_is_reported_not_raised(bank, db):
    count = QuizView(bank, ProgressStore(db), {"tokenizer": object()}).questions[4]
    assert "Could not compute this answer from tokenizer (TypeError" in count.feedback.value


def test_unknown_live_value_is_a_short_error(bank, db):
    with pytest.raises(CourseError, match="(?s)got tokeniser, which no question .* Pass only: tokenizer"):
        QuizView(bank, ProgressStore(db), {"tokeniser": SplitTokenizer()})


def test_options_are_shuffled_per_learner_and_stable(bank, tmp_path):
    def order(path):
        return [label for label, _ in view_of(bank, path).questions[0].answer.options]

    first = order(tmp_path / "ada.sqlite")
    assert order(tmp_path / "ada.sqlite") == first
    others = {tuple(order(tmp_path / f"learner{i}.sqlite")) for i in range(5)}
    assert len(others | {tuple(first)}) > 1  # six options: five learners sharing one order is ~1e-14
    assert sorted(first) == sorted(c.text for c in bank.question("pick").choices)


def test_previous_answers_come_back_in_a_new_view(bank, db):
    view = view_of(bank, db)
    pick = view.questions[0]
    pick.answer.value = choice_id(pick, "[CLS]")
    pick.check_button.click()
    many = view.questions[1]
    many.checkboxes[choice_id(many, "causal mask")].value = True
    many.check_button.click()

    again = view_of(bank, db)
    pick, many = again.questions[0], again.questions[1]
    assert pick.answer.value == choice_id(pick, "[CLS]") and pick.answer.disabled
    assert "Your previous answer: [CLS]. ✓ Correct." in pick.feedback.value
    assert many.checkboxes[choice_id(many, "causal mask")].value is True
    assert "Your previous answer: causal mask. ✗ Incorrect" in many.feedback.value
    assert "Score: 1 of 5 correct · 2 of 5 answered (your latest answer to each question counts)" in again.score.value
    assert again.questions[2].feedback.value == ""


def test_static_fallback_is_the_same_for_every_learner(bank, tmp_path):
    fresh = view_of(bank, tmp_path / "a.sqlite")
    answered = view_of(bank, tmp_path / "b.sqlite")
    answered.questions[0].answer.value = answered.questions[0].answer.options[0][1]
    answered.questions[0].check_button.click()
    bundles = [QuizView(bank, ProgressStore(p), {})._repr_mimebundle_()
               for p in (tmp_path / "a.sqlite", tmp_path / "b.sqlite")]
    assert bundles[0]["text/plain"] == bundles[1]["text/plain"]
    assert bundles[0]["text/html"] == bundles[1]["text/html"]
    assert bundles[0]["text/plain"].splitlines() == [
        "Quiz: Widget test (5 questions; run this cell to answer them)",
        "1. Which token starts every `input`?",
        "2. Pick the encoder traits",
        "3. Layers in BERT-Base?",
        "4. Subword algorithm?",
        '5. Tokens in "a b c"?',
    ]
    assert "<li>Which token starts every <code>input</code>?</li>" in bundles[0]["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in fresh._repr_mimebundle_()


def test_explanations_reach_the_frontend_only_after_an_answer(bank, db):
    view = view_of(bank, db)
    def synced_text():
        return repr([w.get_state() for w in all_widgets(view)])
    assert "SECRET" not in synced_text()
    view.questions[0].answer.value = view.questions[0].answer.options[0][1]
    view.questions[0].check_button.click()
    assert "SECRET" in synced_text()


def test_every_control_is_labelled(bank, db):
    view = view_of(bank, db)
    controls = [w for w in all_widgets(view)
                if isinstance(w, (widgets.Button, widgets.RadioButtons, widgets.Text, widgets.Checkbox))]
    assert len(controls) == 5 * 3 + 1 + 3 + 3  # buttons, one radio group, checkboxes, text fields
    for control in controls:
        assert control.description.strip(), control
        assert control.tooltip and control.tooltip.strip(), control


def test_quiz_and_course_progress_entry_points(db, monkeypatch):
    shown = []
    monkeypatch.setattr(quiz_widget, "display", shown.append)
    monkeypatch.setattr(overview, "display", shown.append)
    quiz_widget.take_quiz("00_start_here")
    overview.course_progress()
    view, progress = shown
    assert isinstance(view, QuizView) and isinstance(progress, ProgressView)
    names = [cell.value for cell in all_widgets(progress) if isinstance(cell, widgets.Label)]
    assert names[:3] == list(progress.bars)[:3] == ["00_start_here", "01_tokenization", "02_architecture"]
    assert progress.labels["00_start_here"].value.endswith("0 of 14 correct, 0 answered")

    first = view.questions[0]
    first.answer.value = choice_id(first, "Bidirectional Encoder Representations from Transformers")
    first.check_button.click()
    assert progress.labels["00_start_here"].value.endswith("1 of 14 correct, 1 answered")
    assert progress.bars["00_start_here"].value == 1
    fallback = progress._repr_mimebundle_()["text/plain"]
    assert fallback == "Course progress: one line per lesson quiz (run this cell to see your scores)"


def test_enter_in_a_text_answer_checks_the_text_sent_with_it(bank, db):
    view = view_of(bank, db)
    (keys,) = [child for child in view.children if isinstance(child, QuizKeys)]
    assert keys._esm and keys._css
    word = view.questions[3]
    word.text_field.value = "word"  # ipywidgets may still be sending the last keystrokes
    keys._message(keys, {"event": "submit", "question": 3, "value": "wordpiece"}, [])
    assert word.text_field.value == "wordpiece" and "✓ Correct." in word.feedback.value
    keys._message(keys, {"event": "submit", "question": 3, "value": "other"}, [])  # already checked: ignored
    keys._message(keys, {"event": "submit", "question": 99, "value": "x"}, [])  # not a question: ignored
    assert [a.response for a in ProgressStore(db).attempts()] == [{"value": "wordpiece"}]
