import os
import sys, traceback; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torch, fakegpu
from collections import Counter
from seqlab.training.schedules import averaged_sgd, scaled_step, swap_in_average, restore_weights
from seqlab.models.accel import fuse_optimizer
try:
    with fakegpu.fake_cuda_device():
        lin = torch.nn.Linear(4, 3).to('cuda')
        for opt in (averaged_sgd(lin.parameters(), 0.1), fuse_optimizer(torch.optim.Adam(lin.parameters(), 1e-3), 'cuda'),
                    fuse_optimizer(torch.optim.SGD(lin.parameters(), 0.1, momentum=0.9), 'cuda')):
            for scale in (1.0, 0.5, 1.0):
                for p in lin.parameters(): p.grad = torch.zeros_like(p)
                scaled_step(opt, scale)
            if isinstance(opt, torch.optim.ASGD):
                restore_weights(swap_in_average(opt))
            print(type(opt).__name__, opt.defaults.get('fused'), opt.defaults.get('capturable'), 'ok')
except BaseException as e:
    print('FAIL', type(e).__name__, str(e)[:300]); traceback.print_exc()
for k, v in Counter(fakegpu.SYNCS).items(): print('   sync x%d' % v, k)
