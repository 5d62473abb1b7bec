"""Text classification with a masked, bidirectional LSTM on a sentiment-like corpus the
script writes itself (deterministic, no download).

The sentences mix neutral words with positive and negative ones ("the plot was great but
the ending was dull"); "not" turns the next sentiment word around. A review is positive
when its positive words outnumber its negative ones. Sentences have 4 to 24 words, padded
with 0: Embedding(mask_zero=True) makes the mask, and Bidirectional(LSTM) skips the
padding in both directions (so the backward LSTM reads the last real word first).

Run: python examples/text_classification.py [--epochs N] [--samples N] [--keras]
"""

import argparse
import os

import numpy as np

POSITIVE = "good great fine excellent wonderful lovely superb brilliant enjoyable fun".split()
NEGATIVE = "bad awful dull boring poor terrible weak messy tedious bland".split()
NEUTRAL = ("the a plot film acting story music ending cast scene was is and but it this "
           "movie script camera director").split()
VOCAB = ["<pad>", "<unk>", "not", *POSITIVE, *NEGATIVE, *NEUTRAL]
INDEX = {word: i for i, word in enumerate(VOCAB)}
MAXLEN = 24


def make_corpus(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """n sentences and their labels (1 positive, 0 negative), the same for the same seed."""
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    while len(texts) < n:
        words, score = [], 0
        for _ in range(rng.integers(4, MAXLEN + 1)):
            kind = rng.random()
            if kind < 0.22:
                negate = rng.random() < 0.25
                sign = 1 if rng.random() < 0.5 else -1
                word = rng.choice(POSITIVE if sign > 0 else NEGATIVE)
                words += ["not", word] if negate else [word]
                score += -sign if negate else sign
            else:
                words.append(rng.choice(NEUTRAL))
        if score == 0 or len(words) > MAXLEN:  # no majority, or too long
            continue
        texts.append(" ".join(words))
        labels.append(int(score > 0))
    return texts, np.asarray(labels, np.int32)


def vectorize(texts: list[str]) -> np.ndarray:
    """Word ids, padded with 0 at the end to MAXLEN words."""
    out = np.zeros((len(texts), MAXLEN), np.int32)
    for row, text in enumerate(texts):
        ids = [INDEX.get(word, 1) for word in text.split()][:MAXLEN]
        out[row, :len(ids)] = ids
    return out


def main() -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int,
                        default=int(os.environ.get("CORNU_DEMO_EPOCHS", 8)))
    parser.add_argument("--samples", type=int, default=6000, help="training sentences")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keras", action="store_true", help="run it with Keras 3 instead")
    args = parser.parse_args()
    if args.keras:
        os.environ.setdefault("KERAS_BACKEND", "jax")
        import keras as lib
    else:
        import cornu as lib
    lib.utils.set_random_seed(args.seed)

    train_texts, y_train = make_corpus(args.samples, seed=args.seed)
    test_texts, y_test = make_corpus(max(500, args.samples // 5), seed=args.seed + 1)
    print("example:", train_texts[0], "->", "positive" if y_train[0] else "negative")
    x_train, x_test = vectorize(train_texts), vectorize(test_texts)

    model = lib.Sequential([
        lib.Input(shape=(MAXLEN,), dtype="int32"),
        lib.layers.Embedding(len(VOCAB), 32, mask_zero=True),
        lib.layers.Bidirectional(lib.layers.LSTM(32)),
        lib.layers.Dense(1, activation="sigmoid"),
    ])
    model.summary()
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=64, epochs=args.epochs, verbose=2)
    loss, accuracy = model.evaluate(x_test, y_test, batch_size=256, verbose=0)
    print(f"{'keras' if args.keras else 'cornu'}: test loss {loss:.4f}, "
          f"test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
