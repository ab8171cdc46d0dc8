"""With no profile named, the machine chooses: gpu where a CUDA device is present and the hub answers
(Colab with a free GPU), laptop elsewhere, and the lesson's first lines say which and why."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from bertcourse.course import profiles, startup


@pytest.fixture
def machine(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, bool]]:
    """No profile named; CUDA and the hub as the test sets them (the hub is asked at most once)."""
    state = {"cuda": False, "hub": False, "hub_asked": False}

    def hub() -> bool:
        assert not state["hub_asked"], "the hub was asked twice in one process"
        state["hub_asked"] = True
        return state["hub"]

    monkeypatch.setattr(profiles, "_chosen", None)
    monkeypatch.delenv("BERTCOURSE_PROFILE", raising=False)
    monkeypatch.setattr(profiles, "cuda_available", lambda: state["cuda"])
    monkeypatch.setattr(profiles, "hub_reachable", hub)
    profiles.automatic_choice.cache_clear()
    yield state
    profiles.automatic_choice.cache_clear()


def test_without_cuda_the_laptop_profile_runs_and_the_network_is_never_asked(machine: dict[str, bool]) -> None:
    assert profiles.active_profile().name == "laptop" and profiles.automatic_reason() == ""
    assert not machine["hub_asked"]


def test_cuda_and_a_reachable_hub_choose_gpu_and_the_lesson_says_why(machine: dict[str, bool],
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    machine.update(cuda=True, hub=True)
    startup.start_lesson("01_tokenization")
    out = capsys.readouterr().out
    assert out.startswith("Lesson 01_tokenization | profile: gpu (")
    words = " ".join(out.split())            # the banner and the reason wrap at 80 columns (plain_text)
    assert ("chosen because a CUDA device is present and the Hugging Face hub answers "
            "(set BERTCOURSE_PROFILE to choose)") in words
    assert all(len(line) <= 80 for line in out.splitlines())
    assert profiles.active_profile().name == "gpu" and machine["hub_asked"]  # asked once, then remembered


def test_cuda_without_the_hub_stays_offline_and_says_so(machine: dict[str, bool]) -> None:
    machine.update(cuda=True, hub=False)
    assert profiles.active_profile().name == "laptop"
    assert "the Hugging Face hub does not answer" in profiles.automatic_reason()


def test_a_named_profile_wins_and_needs_no_explaining(machine: dict[str, bool], monkeypatch: pytest.MonkeyPatch) -> None:
    machine.update(cuda=True, hub=True)
    monkeypatch.setenv("BERTCOURSE_PROFILE", "laptop")
    assert profiles.active_profile().name == "laptop" and profiles.automatic_reason() == ""
    assert not machine["hub_asked"]


class _Hub(http.server.BaseHTTPRequestHandler):
    def do_HEAD(self) -> None:  # noqa: N802 - the name http.server calls
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_hub_reachable_asks_the_endpoint_and_honours_offline_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        assert profiles.hub_reachable()
        monkeypatch.setenv("HF_HUB_OFFLINE", "1")
        assert not profiles.hub_reachable()
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert not profiles.hub_reachable()  # nothing listens there any more
