"""The book's 9.7 run through `from seqlab import d2l`, and its four-sentence table.

    PYTHONPATH=. SEQLAB_DATA=../shared/data python benchmarks/nmt_book.py [--epochs 300] [--quick]

GRU, 2 layers, embed 32, hidden 32, dropout 0.1, batch 64, num_steps 10, lr 0.005,
300 epochs, 600 examples (the book's `load_data_nmt(batch_size, num_steps)`).
Prints the translations of go . / i lost . / he's calm . / i'm home . with the
book's BLEU (k=2) of each, and a JSON line with the numbers.
"""

import argparse
import json
import time

import torch

from seqlab import d2l

p = argparse.ArgumentParser()
p.add_argument("--epochs", type=int, default=300)
p.add_argument("--quick", action="store_true", help="30 epochs, to check the script")
p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
p.add_argument("--seed", type=int, default=0)
p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave torch's default)")
args = p.parse_args()
if args.threads:
    torch.set_num_threads(args.threads)
torch.manual_seed(args.seed)
num_epochs = 30 if args.quick else args.epochs

# --- the book's code (9.7), unchanged apart from the number of epochs -----------------
embed_size, num_hiddens, num_layers, dropout = 32, 32, 2, 0.1
batch_size, num_steps = 64, 10
lr, device = 0.005, torch.device(args.device)

train_iter, src_vocab, tgt_vocab = d2l.load_data_nmt(batch_size, num_steps)
encoder = d2l.Seq2SeqEncoder(len(src_vocab), embed_size, num_hiddens, num_layers, dropout)
decoder = d2l.Seq2SeqDecoder(len(tgt_vocab), embed_size, num_hiddens, num_layers, dropout)
net = d2l.EncoderDecoder(encoder, decoder)
start = time.perf_counter()
losses = d2l.train_seq2seq(net, train_iter, lr, num_epochs, tgt_vocab, device)
wall = time.perf_counter() - start

engs = ['go .', "i lost .", 'he\'s calm .', 'i\'m home .']
fras = ['va !', 'j\'ai perdu .', 'il est calme .', 'je suis chez moi .']
rows = []
for eng, fra in zip(engs, fras):
    translation, attention_weight_seq = d2l.predict_seq2seq(net, eng, src_vocab, tgt_vocab, num_steps, device)
    score = d2l.bleu(translation, fra, k=2)
    print(f'{eng} => {translation}, bleu {score:.3f}')
    rows.append({"source": eng, "reference": fra, "translation": translation, "bleu": round(score, 3)})
print(json.dumps({"epochs": num_epochs, "final_loss": losses[-1], "loss_every_10": losses[9::10],
                  "train_wall_s": round(wall, 1), "device": str(device), "seed": args.seed,
                  "src_vocab": len(src_vocab), "tgt_vocab": len(tgt_vocab), "table": rows}))
