"""Prompt templates shared by training and evaluation.

The bundled models were trained with the spam template below, so the classifier in
:mod:`llmlab.classify` uses it by default. Keeping it in one place means training and
evaluation can never drift apart.
"""

#: The prompt a labelled message is wrapped in. ``{text}`` is the message.
SPAM_TEMPLATE = "Message: {text}\nLabel:"

#: What follows the prompt for a given label (a space, then the label word).
LABEL_TEMPLATE = " {label}"

#: The two labels of the bundled spam data set, negative first.
SPAM_LABELS = ("ham", "spam")

#: The prompt :func:`llmlab.summaries.summarize` wraps a document in; ``{text}`` is the
#: document. Chosen on the *validation* pairs among five candidates ("Summary:", "In short:",
#: "TL;DR:", "In one sentence:", "Text: ... One-line summary:"), by the bundled models' mean
#: ROUGE-L.
SUMMARY_TEMPLATE = "{text}\n\nSummary:"


def format_labelled(text: str, label: str) -> str:
    """Return the training string for one labelled message (prompt + label)."""
    return SPAM_TEMPLATE.format(text=text) + LABEL_TEMPLATE.format(label=label)
