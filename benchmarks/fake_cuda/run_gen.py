import os
import sys, traceback; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__))); sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '../../tests/generation'))
import torch, fakegpu
from collections import Counter
from torch import nn
from seqlab.models.lm import ModelConfig, RNNModel, build_lm
from seqlab.models.seq2seq import build_seq2seq
from seqlab.models.classifier import SequenceClassifier
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

def _grads_ok(net, what):
    bad = [(n, p.grad.device, p.grad.dtype) for n, p in net.named_parameters()
           if p.requires_grad and p.grad is not None and (p.grad.device != p.device or p.grad.dtype != p.dtype)]
    none = [n for n, p in net.named_parameters() if p.requires_grad and p.grad is None]
    print('   ', what, 'grads ok' if not bad else f'BAD GRADS {bad}', f'(no grad: {none})' if none else '')


def models_autocast():
    from seqlab.training.common import lm_batch_loss
    from seqlab.training.translate import batch_token_loss
    torch.manual_seed(0)
    for amp in (True, False):
        for impl, fast in (('scratch', True), ('scratch', False), ('fused', True)):
            for cell, extra in (('rnn', {}), ('gru', {'layers': 2, 'dropout': 0.1}), ('lstm', {'embed': 0}),
                                ('lstm', {'bidirectional': True}), ('peephole', {}), ('lstm', {'tie_weights': True, 'embed': 8})):
                if cell == 'peephole' and impl == 'fused':
                    continue
                cfg = ModelConfig(cell=cell, impl=impl, hidden=8, **{'embed': 4, **extra}, fast=fast)
                net = build_lm(cfg, 11).to(cuda)
                X, Y = torch.randint(0, 11, (3, 5)).to(cuda), torch.randint(0, 11, (3, 5)).to(cuda)
                st = net.begin_state(batch_size=3, device=cuda)
                with autocast(cuda, amp):
                    loss, st = lm_batch_loss(net, net, X, Y, st)
                (loss / Y.numel()).backward()
                _grads_ok(net, f'lm {cell} {impl} fast={fast} {extra} amp={amp} loss {loss.dtype}')
        for attention in (False, True):
            seq = build_seq2seq(7, 9, embed=6, hidden=8, layers=2, attention=attention).to(cuda)
            src = torch.randint(0, 7, (3, 6)).to(cuda)
            with autocast(cuda, amp):
                tl = batch_token_loss(seq, src, torch.tensor([6, 3, 1]).to(cuda), src.flip(1), torch.tensor([6, 4, 2]).to(cuda), 2)
            tl.sum().backward()
            _grads_ok(seq, f'seq2seq attention={attention} amp={amp} loss {tl.dtype}')
        clf = SequenceClassifier(4, 3, hidden=8, layers=1).to(cuda)
        with autocast(cuda, amp):
            out = clf(torch.randn(2, 5, 4).to(cuda))
        torch.nn.functional.cross_entropy(out, torch.tensor([0, 2]).to(cuda)).backward()
        _grads_ok(clf, f'classifier amp={amp} out {out.dtype}')
        for m in ('mlp', 'gru', 'lstm'):
            fc = build_forecaster(m, 4, 8).to(cuda)
            with autocast(cuda, amp):
                out = fc(torch.randn(6, 4).to(cuda))
            torch.nn.functional.mse_loss(out, torch.randn(out.shape).to(cuda)).backward()
            _grads_ok(fc, f'forecaster {m} amp={amp} out {out.dtype}')
    opt = fuse_optimizer(torch.optim.AdamW(fc.parameters(), lr=1e-3), cuda)
    opt.step(); print('   fused AdamW step', opt.defaults.get('fused'))


for name, fn in [('sampling', sampling), ('beams', beams), ('models', models_autocast)]:
    fakegpu.SYNCS.clear()
    try:
        with fakegpu.fake_cuda_device():
            fn()
        print(name, 'OK')
    except BaseException as e:
        print(name, 'FAIL', type(e).__name__, str(e)[:400]); traceback.print_exc()
    for k, v in Counter(fakegpu.SYNCS).items(): print('   sync x%d' % v, k)
