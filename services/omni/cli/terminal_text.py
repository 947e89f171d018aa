"""Text from others, made safe to print on an agent's terminal.

A customer's name or message can carry terminal control sequences: an escape sequence that
clears the screen, rewrites the window title, hides the text after it, moves the cursor to
overwrite an earlier line, or (on some terminals) answers back into the agent's input; a line
break or a bidirectional override can fake a line of our own ("OFFER …"). Printed as text, none of
that may act: escape sequences are removed, every other control character becomes a space.
"""

from __future__ import annotations

import re

# ESC followed by a CSI (ESC [ ... final), an OSC (ESC ] ... BEL or ST), a DCS/SOS/PM/APC string
# (ESC P|X|^|_ ... ST), or a two-character sequence; and the 8-bit CSI/OSC/DCS introducers.
_SEQUENCES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[PX^_][^\x1b]*(?:\x1b\\)?"
    r"|\x1b[ -~]?"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|[\x9d\x90\x98\x9e\x9f][^\x07\x9c]*[\x07\x9c]?"
)
# C0 and C1 controls, DEL, and the bidirectional embeddings/overrides/isolates.
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def plain(text: str) -> str:
    """`text` with no terminal control sequence and on one line."""
    return _CONTROLS.sub(" ", _SEQUENCES.sub("", text))
