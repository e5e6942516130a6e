"""What a prompt template does to a label-likelihood classifier, measured on the spam test split.

The bundled models were trained on "Message: {text}\\nLabel: spam|ham". The same messages are
classified three ways with the same model and labels:

* plain: the training format as a plain string template (llmlab.classify's default);
* chat, right template: chat messages rendered by a chat template that writes the training
  format, so the model sees exactly what it was trained on (ids checked equal to plain);
* chat, wrong template: the same messages rendered by a template of another family (role
  markers the model never saw), as happens when a GGUF file or a tokenizer carries another
  model's template.

Prints F1, balanced accuracy and ECE for each. Run:
    .venv/bin/python benchmarks/template_effect.py [--model tiny-llama]
"""

from __future__ import annotations

import argparse
import copy

RIGHT = ("{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
         "{% if add_generation_prompt %}{{ '\\n' }}Label:{% endif %}")
WRONG = ("{{ bos_token }}{% for m in messages %}<|im_start|>{{ m['role'] }}{{ '\\n' }}"
         "{{ m['content'] }}<|im_end|>{{ '\\n' }}{% endfor %}"
         "{% if add_generation_prompt %}<|im_start|>assistant{{ '\\n' }}{% endif %}")


def main(argv=None):
    import llmlab
    from llmlab import metrics
    from llmlab.prompts import render_prompts

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="tiny-llama")
    args = ap.parse_args(argv)
    model, tok = llmlab.load_model(args.model), llmlab.load_tokenizer(args.model)
    texts, y_true = llmlab.datasets.load_spam("test")
    messages = [{"role": "user", "content": "Message: {text}"}]
    ways = {}
    ways["plain prompt"] = llmlab.classify(model, tok, texts)
    for name, template in (("chat, right template", RIGHT), ("chat, wrong template", WRONG)):
        chat_tok = copy.deepcopy(tok)
        chat_tok.chat_template = template
        if template is RIGHT:  # the right template renders exactly the training ids
            assert render_prompts(chat_tok, messages, texts[:50]) == render_prompts(
                tok, "Message: {text}\nLabel:", texts[:50])
        ways[name] = llmlab.classify(model, chat_tok, texts, template=messages)
    print(f"{args.model}, spam test split ({len(texts)} messages), threshold 0.5")
    print(f"{'prompt':24s} {'F1':>6s} {'bal. acc':>8s} {'ECE':>6s} {'predicted spam':>15s}")
    for name, out in ways.items():
        f1 = metrics.f1_score(y_true, out.y_pred, pos_label="spam")
        bal = metrics.balanced_accuracy_score(y_true, out.y_pred)
        ece = metrics.expected_calibration_error(y_true, out.y_score, pos_label="spam")
        print(f"{name:24s} {f1:6.3f} {bal:8.3f} {ece:6.3f} {out.y_pred.count('spam'):15d}")


if __name__ == "__main__":
    main()
