"""What a prompt format does to an instruct model used as a classifier, on the spam test split.

The bundled instruct model (``tiny-llama-instruct``) was fine-tuned on conversations in its
own chat template (``<|user|>`` / ``<|assistant|>`` turns). The same messages are classified
three ways with the same model and labels (``training.evaluate.template_ways``):

* chat, its own template: ``llmlab.prompts.SPAM_CHAT_MESSAGES`` rendered by the tokenizer's
  chat template, the label as the assistant's bare answer;
* plain prompt: the pretraining format ``Message: {text}\\nLabel:`` with ``" spam"``/``" ham"``;
* chat, wrong template: the same messages rendered with ChatML (role markers of another
  family), as happens when a GGUF file or a tokenizer carries another model's template.

Prints F1, precision, recall, balanced accuracy, ECE and how many messages were called spam.
The same comparison is in the model's card. Run:
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/template_effect.py [--model tiny-llama-instruct]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# The training recipe (training/) lives in the repository, next to this folder, not in llmlab.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv=None):
    import llmlab
    from training.evaluate import template_effect, template_ways

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-llama-instruct",
                    help="a model whose tokenizer has a chat template")
    args = ap.parse_args(argv)
    model, tok = llmlab.load_model(args.model), llmlab.load_tokenizer(args.model)
    if not tok.chat_template:
        ap.error(f"{args.model}'s tokenizer has no chat template: use an instruct model "
                 "such as tiny-llama-instruct")
    texts, y_true = llmlab.datasets.load_spam("test")
    effect = template_effect(model, template_ways(tok), texts, y_true)
    print(f"{args.model}, spam test split ({len(texts)} messages), threshold 0.5")
    print(f"{'prompt':30s} {'F1':>6s} {'prec':>6s} {'recall':>6s} {'bal.acc':>7s} {'ECE':>6s} "
          f"{'called spam':>11s}")
    for name, c in effect.items():
        print(f"{name:30s} {c['f1']:6.3f} {c['precision']:6.3f} {c['recall']:6.3f} "
              f"{c['balanced_accuracy']:7.3f} {c['ece']:6.3f} {c['predicted_spam']:11d}")
    return effect


if __name__ == "__main__":
    main()
