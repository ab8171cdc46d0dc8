"""The learner's screen, measured (issue 29): the quiz, a coding exercise's result, the course
progress and the attention explorer in one notebook, at 1280, 1024 and 800 px with the file
browser open, in JupyterLab's light and dark themes.

The notebook runs once; each of the six layouts is then only a resize or a theme switch, so
this adds one kernel start and a few seconds per layout to the browser tests. In every layout,
from the page's geometry and computed styles:
- no quiz option (radio or checkbox) overlaps the next one, none is cut off, and no option's
  text runs under the "◀ your answer" badge;
- the explorer's slider and head menu keep a usable width and everything stays inside the
  output; the progress bars start at one x, keep a usable width, and no summary is cut off;
- the focus ring on a quiz Check button, a quiz text field, an exercise button, the explorer's
  slider and the progress Refresh button is 3 px, stands at least 3:1 against the page behind
  it and against the control itself, and no box around the control clips it.
Once, in the light theme: focus stays on the controls after Check, Try again and the last Hint,
and "Yes, show it" has readable text. Screenshots of what the learner sees at each widget go
to test-artifacts/screen-<theme>-<width>-<view>.png.
"""

from __future__ import annotations

from test_quiz_browser import ARTIFACTS, STEP_MS, browser, code_cell, lab, run_all, sync_api, write_notebook

__all__ = ["browser", "lab"]  # fixtures used by the test below
WIDTHS = (1280, 1024, 800)
THEMES = {"light": "JupyterLab Light", "dark": "JupyterLab Dark"}
CELLS = [
    ("quiz", 'import bertcourse as bc\nbc.take_quiz("00_start_here")'),
    ("exercise", 'import bertcourse as bc\n\n'
                 'def wordpiece_offsets(word, vocab, unk="[UNK]", max_chars=100):\n    return []\n\n'
                 'wordpiece_offsets = bc.check("01_wordpiece_offsets", wordpiece_offsets)'),
    ("explorer", "import torch\nfrom bertcourse.attention import AttentionExplorer\n\n"
                 'tokens = [f"token{i}" for i in range(17)]   # notebook 02\'s sentence has 17 tokens\n'
                 "AttentionExplorer(tokens, torch.softmax(torch.randn(2, 3, 17, 17), dim=-1))"),
    ("progress", "import bertcourse as bc\n\nbc.course_progress()"),
]

# The screenshots, each scrolled to where it starts: question 3 (its long answer chosen), the
# multiple-select question, the exercise's result, the explorer and the progress widget.
VIEWS = {"quiz-q3": ".bertcourse-question >> nth=2", "quiz-multiple": ".bertcourse-question:has-text('Select every')",
         "exercise": ".bertcourse-exercise", "explorer": ".bertcourse-controls:has(.widget-image)",
         "progress": ".bertcourse-progress"}

# Shared by the measurements below: WCAG contrast of two CSS colours, and the colour showing
# behind an element (the first ancestor with an opaque background).
HELPERS = """
const rgb = (colour) => colour.match(/[\\d.]+/g).map(Number);
const luminance = (colour) => {
  const [r, g, b] = rgb(colour).slice(0, 3).map((v) => v / 255)
    .map((v) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
};
const contrast = (a, b) => {
  const [low, high] = [luminance(a), luminance(b)].sort((x, y) => x - y);
  return (high + 0.05) / (low + 0.05);
};
const opaque = (colour) => { const v = rgb(colour); return v.length < 4 || v[3] > 0.5; };
// `within`: only ancestors whose box holds that rectangle count (a slider's thin track is not
// what shows around the ring of its handle)
const behind = (element, within = null) => {
  for (let node = element; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor, r = node.getBoundingClientRect();
    const holds = !within || (r.left <= within.left && r.right >= within.right && r.top <= within.top &&
                              r.bottom >= within.bottom);
    if (colour && opaque(colour) && holds) return colour;
  }
  return "rgb(255, 255, 255)";
};
"""

QUIZ_LAYOUT = """() => {
  const problems = [];
  const boxes = [...document.querySelectorAll(".bertcourse-quiz .widget-radio-box, .bertcourse-quiz .widget-vbox")];
  const groups = boxes.map((box) => [...box.children].map((child) =>
      child.matches("label") ? child : child.querySelector(":scope > label.widget-label-basic")).filter(Boolean))
    .filter((labels) => labels.length > 1);
  for (const labels of groups) {
    labels.forEach((label, i) => {
      const box = label.getBoundingClientRect();
      const text = label.innerText.trim().slice(0, 40);
      if (label.scrollWidth > label.clientWidth + 1 || label.scrollHeight > label.clientHeight + 1) {
        problems.push(`cut off: ${text}`);
      }
      const span = label.querySelector("span") ?? label;
      if (getComputedStyle(span).textOverflow === "ellipsis" && span.scrollWidth > span.clientWidth + 1) {
        problems.push(`ellipsis: ${text}`);
      }
      const words = document.createRange();
      words.selectNodeContents(label);
      const lines = [...words.getClientRects()].filter((r) => r.width > 0);
      const right = box.right - parseFloat(getComputedStyle(label).paddingRight) + 1;
      if (lines.some((r) => r.right > right)) problems.push(`under the badge: ${text}`);
      // the text itself, not only the label's box (a fixed-height label lets its text spill over)
      const bottom = Math.max(box.bottom, ...lines.map((r) => r.bottom));
      if (i + 1 < labels.length && bottom > labels[i + 1].getBoundingClientRect().top + 0.5) {
        problems.push(`overlaps the next option: ${text}`);
      }
    });
  }
  return { problems, options: groups.flat().length };
}"""

WIDGETS_LAYOUT = """() => {
  const problems = [];
  const inside = (element, name) => {
    const output = element.closest(".jp-OutputArea-output").getBoundingClientRect();
    const box = element.getBoundingClientRect();
    if (box.left < output.left - 1 || box.right > output.right + 1) {
      problems.push(`${name} sticks out of its output (${box.left}..${box.right} vs ${output.left}..${output.right})`);
    }
    return box;
  };
  const explorer = document.querySelector(".widget-image").closest(".bertcourse-controls");
  const slider = inside(explorer.querySelector(".widget-slider"), "layer slider");
  const menu = inside(explorer.querySelector(".widget-dropdown select"), "head menu");
  inside(explorer.querySelector(".widget-image"), "heatmap");
  if (slider.width < 200) problems.push(`layer slider is ${slider.width}px wide`);
  if (menu.width < 120) problems.push(`head menu is ${menu.width}px wide`);
  const bars = [...document.querySelectorAll(".bertcourse-progress .widget-hprogress")].map((bar) => inside(bar, "bar"));
  if (bars.length < 3) problems.push(`${bars.length} progress bars`);
  if (Math.max(...bars.map((b) => b.left)) - Math.min(...bars.map((b) => b.left)) > 1) problems.push("bars start apart");
  if (Math.min(...bars.map((b) => b.width)) < 60) problems.push("a progress bar is under 60px");
  for (const summary of document.querySelectorAll(".bertcourse-progress-summary")) {
    inside(summary, "summary");
    const text = summary.querySelector(".widget-html-content") ?? summary;
    if (text.scrollWidth > text.clientWidth + 1) problems.push(`summary cut off: ${summary.innerText.slice(0, 30)}`);
  }
  return problems;
}"""

RING = HELPERS + """(control) => {
  const style = getComputedStyle(control);
  const width = parseFloat(style.outlineWidth), offset = parseFloat(style.outlineOffset);
  const box = control.getBoundingClientRect(), reach = width + Math.max(offset, 0);
  const clipped = [];
  for (let node = control.parentElement; node; node = node.parentElement) {
    const s = getComputedStyle(node);
    if (s.overflowX !== "visible" || s.overflowY !== "visible") {
      const r = node.getBoundingClientRect();
      if (box.left - reach < r.left - 0.5 || box.right + reach > r.right + 0.5 ||
          box.top - reach < r.top - 0.5 || box.bottom + reach > r.bottom + 0.5) clipped.push(node.className);
    }
    if (node.matches(".jp-OutputArea-output")) break;
  }
  const fill = opaque(style.backgroundColor) ? style.backgroundColor : behind(control.parentElement);
  const ring = { left: box.left - reach, right: box.right + reach, top: box.top - reach, bottom: box.bottom + reach };
  return { style: style.outlineStyle, width, offset, clipped,
           page: contrast(style.outlineColor, behind(control.parentElement, ring)),
           control: contrast(style.outlineColor, fill), focused: document.activeElement === control };
}"""


def soft(failures: list[str], what: str, step) -> None:
    """Run `step`; an assertion it fails is noted in `failures` and the test goes on, so one run
    reports every problem of the screen (the run is costly)."""
    try:
        step()
    except AssertionError as error:
        failures.append(f"{what}: {str(error).splitlines()[0]}")


def keyboard_focus(page, control) -> None:
    """Focus `control` with :focus-visible, as a keyboard user sees it: once a key has moved the
    focus, the browser draws the ring on whatever is focused next, also from a script."""
    control.focus()
    page.keyboard.press("Shift+Tab")
    control.focus()
    sync_api.expect(control).to_be_focused()


def answer_with_the_badge_showing(page) -> None:
    """Question 3's longest option chosen and checked (the issue's overlap), and one checkbox of
    the multiple-select question checked, so both kinds of option carry the badge."""
    long = page.locator(".bertcourse-question").nth(2)
    radios = long.locator(".widget-radio-box label")
    texts = radios.all_inner_texts()
    radios.nth(max(range(len(texts)), key=lambda i: len(texts[i]))).click()
    long.get_by_role("button", name="Check", exact=True).click()
    sync_api.expect(long).to_contain_text("Your answer:")
    many = page.locator(".bertcourse-question", has_text="Select every option")
    many.first.locator("input[type=checkbox]").first.check()
    many.first.get_by_role("button", name="Check", exact=True).click()
    sync_api.expect(many.first).to_contain_text("Your answer:")


def focus_stays_on_the_controls(page) -> None:
    """Check -> Try again -> the chosen option; the last Hint -> Show a solution."""
    first = page.locator(".bertcourse-question").first
    radio = first.get_by_role("radio").first
    radio.focus()
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    check = first.get_by_role("button", name="Check", exact=True)
    sync_api.expect(check).to_be_focused()
    page.keyboard.press("Enter")
    sync_api.expect(first.get_by_role("button", name="Try again")).to_be_focused(timeout=STEP_MS)
    page.keyboard.press("Enter")
    sync_api.expect(radio).to_be_focused(timeout=STEP_MS)
    exercise = page.locator(".bertcourse-exercise")
    exercise.get_by_role("button", name="Hint").focus()
    page.keyboard.press("Enter")
    sync_api.expect(exercise).to_contain_text("Hints:", timeout=STEP_MS)
    page.keyboard.press("Enter")  # the last hint: the button is disabled
    sync_api.expect(exercise).to_contain_text("Hints (no more hints):", timeout=STEP_MS)
    sync_api.expect(exercise.get_by_role("button", name="Show a solution")).to_be_focused(timeout=STEP_MS)


def yes_show_it_is_readable(page) -> None:
    exercise = page.locator(".bertcourse-exercise")
    exercise.get_by_role("button", name="Show a solution").click()
    confirm = exercise.get_by_role("button", name="Yes, show it")
    sync_api.expect(confirm).to_be_visible()
    ratio = confirm.evaluate(HELPERS + "(b) => { const s = getComputedStyle(b); return contrast(s.color, s.backgroundColor); }")
    assert ratio >= 4.5, ratio
    exercise.get_by_role("button", name="Cancel").click()


def test_the_screen_at_three_widths_in_both_themes(lab, browser):
    write_notebook(lab.root / "screen.ipynb", [code_cell(name, source) for name, source in CELLS])
    expect = sync_api.expect
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": 900})
    failures = []
    try:
        page.goto(lab.url("screen.ipynb"))
        run_all(page)
        expect(page.locator(".bertcourse-exercise")).to_contain_text("✗ failed", timeout=STEP_MS)
        expect(page.locator(".widget-image")).to_be_visible(timeout=STEP_MS)
        expect(page.locator(".bertcourse-progress-summary").first).to_contain_text("correct", timeout=STEP_MS)
        page.evaluate("() => window.jupyterapp.commands.execute('filebrowser:activate')")
        expect(page.locator(".jp-FileBrowser")).to_be_visible()
        answer_with_the_badge_showing(page)
        # backticks in a test's hint are code, not literal backticks
        expect(page.locator(".bertcourse-exercise code").first).to_be_visible()
        # JupyterLab's shortcuts are off inside every course widget (Enter presses its buttons)
        for box in (".bertcourse-quiz", ".bertcourse-exercise", ".bertcourse-progress", ".bertcourse-controls:has(.widget-image)"):
            expect(page.locator(box)).to_have_attribute("data-lm-suppress-shortcuts", "true")
        soft(failures, "focus kept", lambda: focus_stays_on_the_controls(page))
        soft(failures, "Yes, show it", lambda: yes_show_it_is_readable(page))
        rings = {
            "quiz Check": page.locator(".bertcourse-question").nth(1).get_by_role("button", name="Check", exact=True),
            "quiz text field": page.locator(".bertcourse-question", has_text="hidden size").first.get_by_role("textbox"),
            "exercise Show a solution": page.locator(".bertcourse-exercise").get_by_role("button", name="Show a solution"),
            "explorer slider": page.locator(".widget-slider .noUi-handle").first,
            "progress Refresh": page.locator(".bertcourse-progress").get_by_role("button", name="Refresh"),
        }
        for theme, name in THEMES.items():
            page.evaluate(f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{name}'}})")
            expect(page.locator(f"body[data-jp-theme-name='{name}']")).to_have_count(1, timeout=STEP_MS)
            for width in WIDTHS:
                where = f"{theme} {width}px"
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_timeout(400)  # JupyterLab lays out again on resize
                quiz = page.evaluate(QUIZ_LAYOUT)
                assert quiz["options"] > 20, quiz  # the measurement found the options
                failures += [f"{where}: {p}" for p in quiz["problems"] + page.evaluate(WIDGETS_LAYOUT)]
                for label, control in rings.items():
                    control.scroll_into_view_if_needed()
                    soft(failures, f"{where}: focusing {label}", lambda control=control: keyboard_focus(page, control))
                    ring = control.evaluate(RING)
                    if ring["style"] != "solid" or ring["width"] < 3 or ring["offset"] < 2 or ring["clipped"] \
                            or ring["page"] < 3 or ring["control"] < 3:
                        failures.append(f"{where}: {label} ring {ring}")
                for name, start in VIEWS.items():  # what the learner sees, scrolled to each widget
                    page.locator(start).first.evaluate("e => e.scrollIntoView({block: 'start'})")
                    page.wait_for_timeout(200)
                    page.screenshot(path=str(ARTIFACTS / f"screen-{theme}-{width}-{name}.png"))
    finally:
        page.screenshot(path=str(ARTIFACTS / "screen-last.png"))
    assert not failures, "\n".join(failures)
