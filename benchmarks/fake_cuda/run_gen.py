import os
import sys, traceback; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../tests/generation'))
import torch, fakegpu
from collections import Counter
from torch import nn
from seqlab.models.lm import ModelConfig, RNNModel, build_lm
from seqlab.models.seq2seq import build_seq2seq
from seqlab.models.classifier import SequenceClassifier, TextClassifier
from seqlab.models.forecaster import build_forecaster
from seqlab.models.accel import autocast, fuse_optimizer
from seqlab.generation.sampling import generate_batch, generate_ids
from seqlab.generation.translate import beam_search, greedy_decode
cuda = torch.device('cuda')

def lm_models(V):
    torch.manual_seed(1)
    return [RNNModel(nn.LSTM(V, 16), V), RNNModel(nn.GRU(V, 12, 2), V),
            build_lm(ModelConfig(cell="gru", impl="scratch", hidden=12), V),
            build_lm(ModelConfig(cell="lstm", impl="scratch", hidden=12, fast=False), V),
            build_lm(ModelConfig(cell="lstm", hidden=12, embed=6, layers=2), V)]

def sampling():
    from unittest import mock
    real = torch.Generator
    # a CUDA generator cannot be built without CUDA: a CPU one stands in (row_uniforms: read for its generator's device)
    with mock.patch.object(torch, 'Generator', lambda device='cpu': real()):
        _sampling()

def _sampling():
    for net in lm_models(9):
        net = net.to(cuda)
        generate_batch(net, [[1, 2, 3], [4]], 5)
        generate_batch(net, [[1, 2, 3], [4]], 5, num_samples=2, temperature=1.0, seed=3)
        generate_batch(net, [[1, 2]], 5, temperature=0.8, top_k=3, top_p=0.9, seed=3)
        generate_ids(net, [1, 2], 4, temperature=1.0)

def beams():
    for attention in (False, True):
        torch.manual_seed(0)
        model = build_seq2seq(7, 9, embed=6, hidden=8, layers=2, attention=attention).eval().to(cuda)
        src = torch.randint(0, 7, (3, 6)).to(cuda); lens = torch.tensor([6, 3, 1]).to(cuda)
        for se in (None, 1, 3):
            beam_search(model, src, lens, 1, 2, 4, 6, n_best=2, sync_every=se)
            greedy_decode(model, src, lens, 1, 2, 6, sync_every=se)

def models_autocast():
    torch.manual_seed(0)
    for impl, fast in (('scratch', True), ('scratch', False), ('fused', True)):
        for cell in ('rnn', 'gru', 'lstm'):
            net = build_lm(ModelConfig(cell=cell, impl=impl, hidden=8, embed=4, fast=fast), 11).to(cuda)
            X = torch.randint(0, 11, (3, 5)).to(cuda)
            st = net.begin_state(batch_size=3, device=cuda)
            with autocast(cuda):
                out, st = net(X, st)
            print('   lm', cell, impl, fast, out.dtype, out.device)
    clf = SequenceClassifier(4, 3, hidden=8, layers=1).to(cuda)
    with autocast(cuda):
        print('   clf', clf(torch.randn(2, 5, 4).to(cuda)).dtype)
    tclf = TextClassifier(20, 3, embed=4, hidden=8).to(cuda)
    with autocast(cuda), __import__('contextlib').suppress(torch._subclasses.fake_tensor.DynamicOutputShapeException):
        print('   tclf', tclf(torch.randint(0, 20, (2, 5)).to(cuda), torch.tensor([5, 3]).to(cuda)).dtype)
    for m in ('mlp', 'gru', 'lstm'):
        fc = build_forecaster(m, 4, 8).to(cuda)
        with autocast(cuda):
            print('   fc', m, fc(torch.randn(6, 4).to(cuda)).dtype)
    opt = fuse_optimizer(torch.optim.AdamW(fc.parameters(), lr=1e-3), cuda)
    for p in fc.parameters(): p.grad = torch.zeros_like(p)
    opt.step(); print('   fused', opt.defaults.get('fused'))

for name, fn in [('sampling', sampling), ('beams', beams), ('models', models_autocast)]:
    fakegpu.SYNCS.clear()
    try:
        with fakegpu.fake_cuda_device():
            fn()
        print(name, 'OK')
    except BaseException as e:
        print(name, 'FAIL', type(e).__name__, str(e)[:400]); traceback.print_exc()
    for k, v in Counter(fakegpu.SYNCS).items(): print('   sync x%d' % v, k)
