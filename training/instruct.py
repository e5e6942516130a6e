"""The instruct stage: chat-formatted fine-tuning of a bundled model, and its chat template.

``tiny-llama-instruct`` starts from the bundled ``tiny-llama`` (its weights and tokenizer) and
is trained a little further on conversations rendered with :data:`CHAT_TEMPLATE`, the
template of TinyLlama-1.1B-Chat and Zephyr (``<|user|>`` / ``<|assistant|>`` turns, each
closed by ``</s>``)::

    <s><|user|>
    Is this message spam or ham?

    WIN a FREE prize, reply now</s>
    <|assistant|>
    spam</s>

The training documents of the stage, each its own sequence:

* every spam *train* message as a labelling conversation (the question phrased one of the
  :data:`SPAM_QUESTIONS` ways, the message, the label as the assistant's whole answer),
  ``spam_repeats`` times, each time with the phrasings drawn again;
* questions about the Python documentation: for a documented name from the docs *train*
  split, the user asks what it does and the assistant answers with the start of its
  documentation (:func:`docs_conversations`);
* plain documentation (the docs *train* split as before, no chat), so that the model keeps
  modelling prose: without it the stage would trade documentation perplexity for chat.

The checkpoint is chosen on a validation set made of both halves of the job: the docs
validation slice the earlier stages used and the spam *validation* split as labelling
conversations (:func:`validation_documents`). The spam test split is never trained on.

Nothing of this needs new tokens: the role markers are ordinary byte-level text, as they are
for TinyLlama-Chat, whose ``<|user|>`` is several Llama tokens.
"""

from __future__ import annotations

import random

from llmlab.prompts import SPAM_CHAT_MESSAGES, encode_rendered_chat
from training.sequences import encode_documents

__all__ = ["CHAT_TEMPLATE", "SPAM_QUESTIONS", "docs_conversations", "instruct_documents",
           "render", "spam_conversations", "validation_documents"]

#: The instruct model's chat template (TinyLlama-1.1B-Chat's / Zephyr's turn format). It
#: writes BOS itself; ``add_generation_prompt`` opens the assistant's turn.
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "<|{{ message['role'] }}|>{{ '\\n' }}{{ message['content'] }}{{ eos_token }}{{ '\\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{{ '\\n' }}{% endif %}"
)

#: How the labelling question is put in training, the first one also in evaluation.
SPAM_QUESTIONS = (
    SPAM_CHAT_MESSAGES[0]["content"],
    "Label this message as spam or ham.\n\n{text}",
    "{text}\n\nSpam or ham?",
)

#: How a question about a documented name is put.
DOCS_QUESTIONS = (
    "What does `{name}` do?",
    "Explain `{name}` from the Python documentation.",
    "Describe `{name}`.",
)

#: Answers are the documentation's first paragraphs, cut after this many characters.
ANSWER_CHARS = 600


def render(tokenizer, conversations) -> tuple[list, list]:
    """Whole conversations under the tokenizer's chat template: their texts, and their token
    ids (one BOS each, :func:`llmlab.prompts.encode_rendered_chat`)."""
    texts = [tokenizer.apply_chat_template(c, tokenize=False) for c in conversations]
    return texts, encode_rendered_chat(tokenizer, texts)


def spam_conversations(texts, labels, *, seed: int = 0, questions=SPAM_QUESTIONS) -> list:
    """Labelling conversations: each message with a question phrased one of ``questions``
    ways (seeded), the label as the assistant's answer."""
    rng = random.Random(seed)
    return [[{"role": "user", "content": rng.choice(questions).replace("{text}", t)},
             {"role": "assistant", "content": y}] for t, y in zip(texts, labels)]


def _answer(text: str) -> str:
    """The documentation's opening paragraphs, cut at a paragraph or sentence near
    :data:`ANSWER_CHARS`."""
    if len(text) <= ANSWER_CHARS:
        return text.strip()
    head = text[:ANSWER_CHARS]
    for sep in ("\n\n", ". "):
        cut = head.rfind(sep)
        if cut > ANSWER_CHARS // 3:
            return head[: cut + (1 if sep == ". " else 0)].strip()
    return head.strip()


def docs_conversations(records, *, n: int, seed: int = 0) -> list:
    """``n`` question-and-answer conversations about documented names (``records`` of the
    docs train split: ``text`` and ``source`` such as ``"python/os.path.join"``), Python's
    first, then the other libraries', each subset in a seeded order."""
    rng = random.Random(seed)
    python = [r for r in records if r["source"].startswith("python/")]
    other = [r for r in records if not r["source"].startswith("python/")]
    rng.shuffle(python)
    rng.shuffle(other)
    out = []
    for r in (python + other)[:n]:
        name = r["source"].split("/", 1)[1]
        question = rng.choice(DOCS_QUESTIONS).replace("{name}", name)
        out.append([{"role": "user", "content": question},
                    {"role": "assistant", "content": _answer(r["text"])}])
    return out


def instruct_documents(tokenizer, data, *, n_docs_questions: int, n_plain_docs: int,
                       spam_repeats: int = 1, seed: int = 0) -> tuple[list, list]:
    """The stage's training documents as token id lists, and their texts (for byte counts).

    ``data`` is a :class:`training.train.TrainingData`. Chat documents are rendered
    with the tokenizer's chat template (which must be :data:`CHAT_TEMPLATE`); plain ones are
    ``<s> text </s>`` as in the earlier stages.
    """
    if getattr(tokenizer, "chat_template", None) != CHAT_TEMPLATE:
        raise ValueError("the instruct stage needs the tokenizer's chat_template set to "
                         "training.instruct.CHAT_TEMPLATE")
    records = [{"text": t, "source": s}
               for t, s in zip(data.docs_train, data.docs_train_sources or [])]
    if not records:
        raise ValueError("the instruct stage needs docs train records with their sources")
    chats = []
    for k in range(int(spam_repeats)):  # each time with freshly drawn question phrasings
        chats += spam_conversations(data.spam_train_texts, data.spam_train_labels,
                                    seed=seed + 10 * k)
    chats += docs_conversations(records, n=n_docs_questions, seed=seed + 1)
    rng = random.Random(seed + 2)
    plain = rng.sample(list(data.docs_train), min(n_plain_docs, len(data.docs_train)))
    texts, ids = render(tokenizer, chats)
    return ids + encode_documents(tokenizer, plain), texts + plain


def validation_documents(tokenizer) -> list:
    """The spam *validation* split as labelling conversations (the canonical question), as
    token id lists: the chat half of the instruct stage's validation set."""
    from llmlab.datasets import load_spam

    texts, labels = load_spam("validation")
    chats = spam_conversations(texts, labels, questions=SPAM_QUESTIONS[:1])
    return render(tokenizer, chats)[1]
