"""The contact flow: the IVR menu a caller navigates and the rules that turn words into a queue.

Loaded from configuration (JSON, OMNI_CONTACT_FLOW_FILE) and checked when the service starts:
at most three menu levels, and at every level one key (default "0") goes straight to a human,
so no caller is trapped in the menu. "*" goes back one level.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omni.runtime import accessibility
from omni.runtime.errors import InvalidArgument

MAX_LEVELS = 3
BACK = "*"
HUMAN_INTENT = "agent_request"
MAX_ACCESSIBLE_LINES = 100


class ContactFlowError(ValueError):
    """The configured contact flow is unusable; the message names the offending entry."""


@dataclasses.dataclass(frozen=True)
class MenuOption:
    label: str
    # A leaf names its queue (and intent); a branch has a submenu.
    queue: str = ""
    intent: str = ""
    submenu: Menu | None = None


@dataclasses.dataclass(frozen=True)
class Menu:
    prompt: str
    options: Mapping[str, MenuOption]


@dataclasses.dataclass(frozen=True)
class IvrStep:
    """What happens after one key: another prompt, or the call leaves the IVR for `queue`."""

    path: tuple[str, ...]
    prompt: str = ""
    queue: str = ""
    intent: str = ""
    label: str = ""
    invalid: bool = False


@dataclasses.dataclass(frozen=True)
class ContactFlow:
    menu: Menu
    human_digit: str
    human_queue: str
    # Invalid keys tolerated before the caller is put through to a human.
    max_invalid: int
    intent_queues: Mapping[str, str]
    intent_keywords: Mapping[str, Sequence[str]] | None
    chat_queue: str
    email_queue: str
    # Recipient local part ("sales" of sales@example.com) -> queue.
    mailbox_queues: Mapping[str, str]
    # Dialled numbers of accessible lines -> the needs of whoever calls them.
    accessible_lines: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)
    # A caller with an accessibility need goes straight to `human_queue` (seed 000); False keeps
    # the menus, played slow and plain.
    accessibility_skips_menu: bool = True

    def caller_needs(self, dnis: str, named: Sequence[str]) -> tuple[str, ...]:
        """The caller's accessibility needs: those the adapter named and the dialled line's, each
        once, checked."""
        return accessibility.needs([*named, *self.accessible_lines.get(dnis, ())])

    def menu_at(self, path: Sequence[str]) -> Menu:
        menu = self.menu
        for digit in path:
            submenu = menu.options[digit].submenu
            if submenu is None:
                raise InvalidArgument(f"IVR path {'>'.join(path)} does not lead to a menu")
            menu = submenu
        return menu

    def press(self, path: Sequence[str], key: str) -> IvrStep:
        """One DTMF key at the menu `path` leads to."""
        menu = self.menu_at(path)
        if key == self.human_digit:
            return IvrStep(tuple(path), queue=self.human_queue, intent=HUMAN_INTENT, label="agent")
        if key == BACK:
            parent = tuple(path[:-1])
            return IvrStep(parent, prompt=self.menu_at(parent).prompt)
        option = menu.options.get(key)
        if option is None:
            return IvrStep(tuple(path), prompt=f"Sorry, {key} is not an option. {menu.prompt}", invalid=True)
        new_path = (*path, key)
        if option.submenu is not None:
            return IvrStep(new_path, prompt=option.submenu.prompt, label=option.label)
        return IvrStep(new_path, queue=option.queue, intent=option.intent, label=option.label)

    def press_keys(self, path: Sequence[str], keys: str) -> IvrStep:
        """Several DTMF keys at once (a caller who typed ahead): each at the menu the previous one
        led to, until one leaves the IVR."""
        step = IvrStep(tuple(path))
        for key in keys:
            step = self.press(path, key)
            if step.queue:
                break
            path = step.path
        return step

    def understand(self, path: Sequence[str], intent: str) -> IvrStep:
        """Recognised speech at the menu `path`, as the intent the classifier found in it."""
        if not intent:
            prompt = self.menu_at(path).prompt
            return IvrStep(tuple(path), prompt=f"Sorry, I did not understand. {prompt}", invalid=True)
        return IvrStep(tuple(path), queue=self.queue_for_intent(intent, self.human_queue), intent=intent, label=intent)

    def after_invalid(self, step: IvrStep, invalid_inputs: int) -> IvrStep:
        """After `max_invalid` bad inputs the caller goes to a human rather than round the menu again."""
        if not step.queue and invalid_inputs >= self.max_invalid:
            return IvrStep(step.path, queue=self.human_queue, intent=HUMAN_INTENT, label="agent")
        return step

    def labels(self, path: Sequence[str]) -> str:
        """ "technical support > internet" for the path 2>1."""
        labels, menu = [], self.menu
        for key in path:
            option = menu.options[key]
            labels.append(option.label)
            if option.submenu is None:
                break
            menu = option.submenu
        return " > ".join(labels)

    def queue_for_intent(self, intent: str, fallback: str) -> str:
        return self.intent_queues.get(intent, fallback)

    def mailbox_queue(self, recipients: Sequence[str]) -> str:
        for address in recipients:
            local = address.rpartition("@")[0].casefold()
            if local in self.mailbox_queues:
                return self.mailbox_queues[local]
        return self.email_queue


DEFAULT_FLOW: Mapping[str, Any] = {
    "human_digit": "0",
    "human_queue": "general",
    "max_invalid": 3,
    "menu": {
        "prompt": "Welcome. For billing press 1, technical support 2, sales 3, to make a complaint 4; "
                  "press 0 for an agent. 您好，账单请按1，技术支持请按2，业务办理请按3，投诉请按4，人工服务请按0。",
        "options": {
            "1": {"label": "billing", "queue": "billing", "intent": "billing"},
            "2": {
                "label": "technical support",
                "prompt": "Internet 1, mobile 2, TV 3; * goes back, 0 for an agent. 宽带请按1，手机请按2，电视请按3。",
                "options": {
                    "1": {"label": "internet", "queue": "tech_internet", "intent": "technical"},
                    "2": {"label": "mobile", "queue": "tech_mobile", "intent": "technical"},
                    "3": {"label": "tv", "queue": "tech_tv", "intent": "technical"},
                },
            },
            "3": {"label": "sales", "queue": "sales", "intent": "sales"},
            "4": {"label": "complaint", "queue": "complaints", "intent": "complaint"},
        },
    },
    "intent_queues": {
        "complaint": "complaints",
        "safety": "complaints",
        "billing": "billing",
        "refund": "billing",
        "technical": "tech_internet",
        "sales": "sales",
        "cancellation": "retention",
        "account": "general",
        "agent_request": "general",
    },
    "chat_queue": "chat",
    "email_queue": "email",
    "mailbox_queues": {"sales": "sales", "billing": "billing"},
}


def _menu(raw: Any, where: str, level: int, human_digit: str) -> Menu:
    if level > MAX_LEVELS:
        raise ContactFlowError(f"{where}: menus may be at most {MAX_LEVELS} levels deep")
    if not isinstance(raw, Mapping) or not isinstance(raw.get("options"), Mapping) or not raw["options"]:
        raise ContactFlowError(f"{where}: a menu needs a 'prompt' and non-empty 'options'")
    options: dict[str, MenuOption] = {}
    for key, option in raw["options"].items():
        here = f"{where}.options[{key!r}]"
        if key in (human_digit, BACK) or len(key) != 1 or key not in "123456789#":
            raise ContactFlowError(f"{here}: keys are single digits 1-9 or '#'; "
                                   f"{human_digit!r} (agent) and '*' (back) are reserved")
        if not isinstance(option, Mapping):
            raise ContactFlowError(f"{here}: must be an object")
        if "options" in option:
            options[key] = MenuOption(str(option.get("label", "")), submenu=_menu(option, here, level + 1, human_digit))
        elif option.get("queue"):
            options[key] = MenuOption(str(option.get("label", "")), queue=str(option["queue"]),
                                      intent=str(option.get("intent", "")))
        else:
            raise ContactFlowError(f"{here}: needs a 'queue' or a submenu ('prompt' + 'options')")
    return Menu(prompt=str(raw.get("prompt", "")), options=options)


def parse_flow(raw: Mapping[str, Any]) -> ContactFlow:
    human_digit = str(raw.get("human_digit", "0"))
    if len(human_digit) != 1:
        raise ContactFlowError("human_digit must be one key")
    human_queue = str(raw.get("human_queue", ""))
    if not human_queue:
        raise ContactFlowError("human_queue is required: the queue the agent shortcut leads to")
    keywords = raw.get("intent_keywords")
    lines = raw.get("accessible_lines", {})
    if not isinstance(lines, Mapping) or len(lines) > MAX_ACCESSIBLE_LINES:
        raise ContactFlowError(f"accessible_lines maps at most {MAX_ACCESSIBLE_LINES} dialled numbers to needs")
    try:
        accessible = {str(dnis): accessibility.needs([str(n) for n in needs]) for dnis, needs in lines.items()}
    except InvalidArgument as exc:
        raise ContactFlowError(f"accessible_lines: {exc}") from exc
    return ContactFlow(
        menu=_menu(raw.get("menu"), "menu", 1, human_digit),
        human_digit=human_digit,
        human_queue=human_queue,
        max_invalid=int(raw.get("max_invalid", 3)),
        intent_queues={str(k): str(v) for k, v in dict(raw.get("intent_queues", {})).items()},
        intent_keywords={str(k): tuple(v) for k, v in keywords.items()} if isinstance(keywords, Mapping) else None,
        chat_queue=str(raw.get("chat_queue", human_queue)),
        email_queue=str(raw.get("email_queue", human_queue)),
        mailbox_queues={str(k).casefold(): str(v) for k, v in dict(raw.get("mailbox_queues", {})).items()},
        accessible_lines=accessible,
        accessibility_skips_menu=bool(raw.get("accessibility_skips_menu", True)),
    )



def load_flow(path: str) -> ContactFlow:
    """The flow in `path` (JSON), or the built-in default when `path` is empty."""
    if not path:
        return parse_flow(DEFAULT_FLOW)
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ContactFlowError(f"cannot read contact flow {path}: {exc}") from exc
    return parse_flow(raw)


def ivr_abandoned_text(labels: str) -> str:
    """What the record of a call that ended in the IVR says: how far the caller got."""
    return "Call ended in the IVR" + (f" at: {labels}" if labels else " at the first menu")
