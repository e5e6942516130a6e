"""Prompt templates shared by training and evaluation.

The bundled models were trained with the spam template below, so the classifier in
:mod:`llmlab.classify` uses it by default. Keeping it in one place means training and
evaluation can never drift apart.
"""

#: The prompt a labelled message is wrapped in. ``{text}`` is the message.
SPAM_TEMPLATE = "Message: {text}\nLabel:"

#: What follows the prompt for a given label (a space, then the label word).
LABEL_TEMPLATE = " {label}"

#: What follows a chat prompt for a given label: the label alone, as an assistant's answer
#: starts right after the opened turn.
CHAT_LABEL_TEMPLATE = "{label}"

#: The two labels of the bundled spam data set, negative first.
SPAM_LABELS = ("ham", "spam")

#: The chat prompt of the bundled instruct model (``tiny-llama-instruct``), which was
#: fine-tuned to answer it with the bare label: ``llmlab.classify(model, tok, texts,
#: template=SPAM_CHAT_MESSAGES)`` (the label continuation is then ``"{label}"``).
SPAM_CHAT_MESSAGES = ({"role": "user", "content": "Is this message spam or ham?\n\n{text}"},)

#: The ChatML chat template (``<|im_start|>role ... <|im_end|>``, as Qwen and many fine-tunes
#: use), with a Llama-style BOS first. On a model trained with another template it is the
#: *wrong* template: what a model gets when a GGUF file or tokenizer carries another family's.
CHATML_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}<|im_start|>{{ message['role'] }}{{ '\\n' }}"
    "{{ message['content'] }}<|im_end|>{{ '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant{{ '\\n' }}{% endif %}"
)

#: The prompt :func:`llmlab.summaries.summarize` wraps a document in; ``{text}`` is the
#: document. Chosen on the *validation* pairs among five candidates ("Summary:", "In short:",
#: "TL;DR:", "In one sentence:", "Text: ... One-line summary:"), by the bundled models' mean
#: ROUGE-L.
SUMMARY_TEMPLATE = "{text}\n\nSummary:"


def format_labelled(text: str, label: str) -> str:
    """Return the training string for one labelled message (prompt + label)."""
    return SPAM_TEMPLATE.format(text=text) + LABEL_TEMPLATE.format(label=label)


def is_chat(template) -> bool:
    """True for chat messages (a list of ``{"role": ..., "content": ...}`` dicts)."""
    return isinstance(template, (list, tuple)) and all(isinstance(m, dict) for m in template)


def check_template(template, name: str = "template", placeholder: str = "{text}") -> None:
    """A plain string holding ``placeholder``, or chat messages one of which holds it."""
    if isinstance(template, str):
        if placeholder not in template:
            raise ValueError(f"{name}={template!r} must contain the placeholder {placeholder}")
        return
    if not is_chat(template) or not template:
        raise ValueError(
            f"{name} must be a string such as 'Message: {{text}}\\nLabel:' or chat messages "
            f"such as [{{'role': 'user', 'content': 'Spam or ham? {{text}}'}}], got {template!r}"
        )
    for i, message in enumerate(template):
        if not isinstance(message.get("role"), str) or not isinstance(message.get("content"),
                                                                          str):
            raise ValueError(f"{name}[{i}]={message!r} needs a str 'role' and a str 'content'")
    if not any(placeholder in m["content"] for m in template):
        raise ValueError(f"no message of {name} contains the placeholder {placeholder}")


def render_prompts(tokenizer, template, texts, *, placeholder: str = "{text}") -> list:
    """Token ids of ``template`` filled with each text: the one place prompts are encoded.

    A plain string is filled (``str.format``) and encoded with the tokenizer's special tokens
    (a Llama-style BOS first), as the bundled models were trained. Chat messages are filled
    (the placeholder replaced in each message's content, so braces elsewhere are left alone)
    and rendered with the tokenizer's chat template, the assistant's turn opened
    (``add_generation_prompt=True``), then encoded *without* adding special tokens: a chat
    template writes its own BOS, and adding another would give the model a sequence it never
    saw. A rendering that still starts with two BOS tokens is cut to one.

    Raises
    ------
    ValueError
        For a tokenizer without a chat template when messages are given, or a template
        without the placeholder.

    Examples
    --------
    >>> class Tok:
    ...     bos_token_id = 1
    ...     def __call__(self, texts, add_special_tokens=True):
    ...         return {"input_ids": [[1] * add_special_tokens + [len(t)] for t in texts]}
    >>> render_prompts(Tok(), "Message: {text}", ["hi", "hello"])
    [[1, 11], [1, 14]]
    """
    check_template(template, placeholder=placeholder)
    texts = list(texts)
    if isinstance(template, str):
        filled = [template.format(**{placeholder.strip("{}"): t}) for t in texts]
        return [list(ids) for ids in tokenizer(filled, add_special_tokens=True)["input_ids"]]
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"the tokenizer ({type(tokenizer).__name__}) has no chat template "
            f"(tokenizer.chat_template is None), so chat messages cannot be rendered: pass a "
            f"plain string template instead, or load the instruct model's tokenizer"
        )
    rendered = [
        tokenizer.apply_chat_template(
            [{**m, "content": m["content"].replace(placeholder, t)} for m in template],
            add_generation_prompt=True,
            tokenize=False,
        )
        for t in texts
    ]
    return encode_rendered_chat(tokenizer, rendered)


def encode_rendered_chat(tokenizer, rendered) -> list:
    """Token ids of texts a chat template rendered: encoded *without* adding special tokens
    (the template wrote its own BOS), and a text that still starts with two BOS tokens cut
    to one. :func:`render_prompts` and the instruct stage's training documents both use it.
    """
    out = []
    bos = getattr(tokenizer, "bos_token_id", None)
    for ids in tokenizer(list(rendered), add_special_tokens=False)["input_ids"]:
        ids = list(ids)
        if bos is not None and ids[:2] == [bos, bos]:
            ids = ids[1:]
        out.append(ids)
    return out
