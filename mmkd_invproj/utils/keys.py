# Copyright (c) mmkd-invproj authors. All rights reserved.
"""One wording for "unknown keys (did you mean ...?)" errors of config dicts."""
import difflib
from typing import Iterable, Optional

__all__ = ['unknown_keys_message']


def unknown_keys_message(given: Iterable[str], valid: Iterable[str], subject: str,
                         valid_label: str = 'valid:') -> Optional[str]:
    """The error text for the keys of ``given`` that ``valid`` lacks, or None.

    The text is ``f'{subject} {unknown} (did you mean {hints}?); {valid_label}
    {valid}'``: ``unknown`` the sorted unknown keys, ``hints`` maps each to its
    closest valid key (``difflib.get_close_matches``, n=1, an empty list when none
    is close), ``valid`` the valid keys as a list, in their given order.

    Args:
        given (Iterable[str]): The keys received (a dict gives its keys).
        valid (Iterable[str]): The accepted keys (a dict gives its keys).
        subject (str): What has the unknown keys, e.g. ``'distill_pairs[0] has
            unknown keys'``.
        valid_label (str): What introduces the valid keys, e.g. ``'valid keys:'``.

    Returns:
        str | None: The message, e.g. ``"distill_pairs[0] has unknown keys
        ['projecter'] (did you mean {'projecter': ['projector']}?); valid keys:
        ['name', ...]"``; None when every key is valid.

    Examples:
        >>> unknown_keys_message({'lr': 1, 'lrr': 2}, ['lr', 'wd'], 'bad keys')
        "bad keys ['lrr'] (did you mean {'lrr': ['lr']}?); valid: ['lr', 'wd']"
    """
    valid = list(valid)
    unknown = sorted(set(given) - set(valid))
    if not unknown:
        return None
    hints = {k: difflib.get_close_matches(k, valid, n=1) for k in unknown}
    return f'{subject} {unknown} (did you mean {hints}?); {valid_label} {valid}'
