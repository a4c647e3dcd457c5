"""The book's chapter-8 headline through `seqlab.d2l`, plus the held-out perplexity.

Book settings: batch 32, 35 steps, the first 10,000 characters of the Time Machine,
lr 1, 500 epochs, sequential sampling. Models: the scratch RNN with 512 hidden units
(8.5) and the concise LSTM with 256 (9.2 uses nn.LSTM(len(vocab), 256)).
Held-out: the last 10% of the Time Machine's characters (never seen in training: the
book trains on the first 10,000 only), read statefully with batch 1.

    python benchmarks/lm_book_headline.py --model rnn_scratch [--epochs 500] [--quick]
"""

import argparse
import json
import time

import torch
from torch import nn

from seqlab import d2l
from seqlab.data.corpora import load_lm_corpus


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=("rnn_scratch", "lstm", "gru", "rnn"), default="rnn_scratch")
    ap.add_argument("--epochs", type=int, default=500)
    ap.add_argument("--device", default=None)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--plot", default=None)
    ap.add_argument("--quick", action="store_true", help="20 epochs: a smoke run of the script")
    args = ap.parse_args()
    epochs = 20 if args.quick else args.epochs
    torch.manual_seed(args.seed)
    import random
    random.seed(args.seed)
    device = torch.device(args.device) if args.device else d2l.try_gpu()
    batch_size, num_steps = 32, 35
    train_iter, vocab = d2l.load_data_time_machine(batch_size, num_steps)
    if args.model == "rnn_scratch":
        num_hiddens = 512
        net = d2l.RNNModelScratch(len(vocab), num_hiddens, device, d2l.get_params, d2l.init_rnn_state, d2l.rnn)
    else:
        num_hiddens = 256
        layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[args.model](len(vocab), num_hiddens)
        net = d2l.RNNModel(layer, vocab_size=len(vocab)).to(device)
    t0 = time.perf_counter()
    ppl, speed = d2l.train_ch8(net, train_iter, vocab, 1, epochs, device,
                               plot_path=args.plot or f"benchmarks/lm_book_{args.model}.png")
    wall = time.perf_counter() - t0
    heldout = load_lm_corpus("timemachine", level="char", vocab=vocab).valid  # the last 10%
    valid_ppl = d2l.evaluate_ppl(net, heldout, device, batch_size=1, num_steps=num_steps)
    first10k_ppl = d2l.evaluate_ppl(net, torch.tensor(train_iter.corpus), device, batch_size=1)
    out = {"model": args.model, "epochs": epochs, "train_ppl_last_epoch": ppl, "tokens_per_sec": speed,
           "train_stream_ppl": first10k_ppl, "heldout_ppl": valid_ppl, "heldout_tokens": len(heldout) - 1,
           "wall_s": wall, "device": str(device),
           "predict_time_traveller": d2l.predict_ch8("time traveller", 50, net, vocab, device),
           "predict_traveller": d2l.predict_ch8("traveller", 50, net, vocab, device)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
