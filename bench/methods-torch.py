# The benchmark's reference net in PyTorch, written afresh from the papers and SPEC.md (no code
# shared with wsss or the authors), as an independent check of rows of the methods bench:
#   cam  : GAP -> bias-free 1x1 classifier (the CAM baseline)
#   hspp : HSPP (gamma 2, max-pooled pyramids at 1, 2, 4 bins, floor windows) -> classifier (VWE's "+ HSPP")
#   words, vwe : + visual words (32 words, three losses, two-branch CAM), on GAP / on HSPP (VWE's full method)
#   da   : signed final features -> EDAM's DA layer (3x3 conv to K+1 masks, L2 across them, abs),
#          scores fc_k . GAP(X * M_k), X a 1x1 reduction to 32 channels (EDAM's "+ DA", no CMA)
#   ppl-single, ppl-explicit, ppl-implicit : Progressive Patch Learning (Li et al.) with wsss's cam-tiny
#          defaults: cut after conv3 (K = 2) and conv4 (K = 4), single after conv4 (K = 4); phi1/phi2 3x3
#          conv + BN + ReLU; explicit: classifier alone for half the epochs, then both branches with their
#          inputs detached; implicit: classifier half, then step 1 (conv3) and step 2 (conv4, conv1-conv4
#          frozen), final model F-hat + the last step's branch; CAM = mean of the groups' max-normalised
#          CAMs per view.
# trained as the bench trains cam-tiny (SGD lr 0.05, momentum 0.9, wd 1e-4, new layers x10, poly 0.9,
# 20 warm-up steps, batch 16, rescale 0.9-1.1 + crop 64 + flip + jitter), then the multi-scale + flip
# pseudo-labels of the train images scored as the runtime does (cam/hspp: max with the flipped view,
# sum over scales 1, 0.5, 1.5, 2, /(max + 1e-5), background 0.15 (CAM) or 0.14 (the VWE rows, the code's); da: sum of the 8 views, /max,
# background 0.5; ppl: each view's group mean, then as cam), with a background-threshold sweep. Trunk
# init is PyTorch's default unless TRUNK_INIT says otherwise. Not needed by the project, its tests or CI.
# usage: [TRUNK_INIT=fan-out] [AUG=per-image] [WSSS_WEIGHTS=RUN/model.safetensors] /usr/bin/python3 bench/methods-torch.py OUT/data-small-s0 cam|hspp|words|vwe|da|ppl-single|ppl-explicit|ppl-implicit SEED [EPOCHS=12] [THREADS=1]
# prints one JSON line: mIoU, body/head recall, the best threshold's mIoU (ppl: also each feature group's CAM alone,
# its mIoU and background hit rate).
import json, os, sys, time, numpy as np, torch, torch.nn as nn, torch.nn.functional as F
from PIL import Image

root, mode, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
epochs = int(sys.argv[4]) if len(sys.argv) > 4 else 12
torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 1)
labels = json.load(open(f'{root}/cls_labels.json'))
ids = open(f'{root}/ImageSets/Segmentation/train.txt').read().split()
raw = np.stack([np.asarray(Image.open(f'{root}/JPEGImages/{i}.jpg').convert('RGB'), dtype=np.float32) for i in ids])
gt = np.stack([np.asarray(Image.open(f'{root}/SegmentationClass/{i}.png')) for i in ids]).astype(np.int64)
parts = np.stack([np.asarray(Image.open(f'{root}/PartMasks/{i}.png')) for i in ids]).astype(np.int64)
mean, std = torch.tensor([124., 116., 104.]).view(1, 3, 1, 1), torch.tensor([58., 57., 57.]).view(1, 3, 1, 1)
x255 = torch.tensor(raw).permute(0, 3, 1, 2).contiguous()
y = torch.tensor([labels[i] for i in ids], dtype=torch.float32)
K = y.shape[1]
torch.manual_seed(seed); np.random.seed(seed)

def cbr(i, o, k, s, relu=True):
    return [nn.Conv2d(i, o, k, s, k // 2, bias=False), nn.BatchNorm2d(o)] + ([nn.ReLU()] if relu else [])
stages = [nn.Sequential(*cbr(3, 16, 3, 1)), nn.Sequential(*cbr(16, 32, 3, 2)), nn.Sequential(*cbr(32, 32, 3, 1)),
          nn.Sequential(*cbr(32, 64, 3, 2)), nn.Sequential(*cbr(64, 64, 3, 1)), nn.Sequential(*cbr(64, 64, 1, 1, relu=(mode != 'da')))]
trunk = nn.Sequential(*stages)  # conv1 .. conv6
# TRUNK_INIT=fan-out initialises the trunk's convs as wsss's cam-tiny does (kaiming normal, fan_out, gain sqrt 2:
# the torchvision ResNet init), sqrt(6) times PyTorch's default scale; unset, they keep PyTorch's default.
if os.environ.get('TRUNK_INIT') == 'fan-out':
    for st in stages: nn.init.kaiming_normal_(st[0].weight, mode='fan_out', nonlinearity='relu')
elif os.environ.get('TRUNK_INIT'): sys.exit(f"TRUNK_INIT must be 'fan-out' or unset, got {os.environ['TRUNK_INIT']}")

def hspp(f, gamma=2):
    h, w = f.shape[2:]
    s = gamma * f.mean((2, 3))
    for i in (1, 2, 4):
        kh, kw = max(h // i, 1), max(w // i, 1)
        s = s + F.max_pool2d(f, (kh, kw), (kh, kw)).mean((2, 3))
    return s / (gamma + 3)

extra_loss = None
stage_at = None  # ppl: epoch -> (active branches, detach their inputs, frozen parameters)
if mode.startswith('ppl-'):
    ppl_mode = mode[4:]
    if ppl_mode not in ('single', 'explicit', 'implicit'): sys.exit(f'unknown mode {mode}')
    def patch_split(t, k):  # [N,C,H,W] -> [N*k*k, C, ceil(H/k), ceil(W/k)], zero-padded bottom/right
        n_, c, h, w = t.shape; ph, pw = -(-h // k), -(-w // k)
        t = F.pad(t, (0, k * pw - w, 0, k * ph - h))
        return t.view(n_, c, k, ph, k, pw).permute(0, 2, 4, 1, 3, 5).reshape(n_ * k * k, c, ph, pw)
    def patch_merge(t, k, like):  # inverse, cropped to like's size
        nk, c, h, w = t.shape; n_ = nk // (k * k)
        t = t.view(n_, k, k, c, h, w).permute(0, 3, 1, 4, 2, 5).reshape(n_, c, k * h, k * w)
        return t[:, :, :like.shape[2], :like.shape[3]]
    def phi(c):
        return nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU())
    def classifier():
        m = nn.Conv2d(64, K, 1, bias=False); nn.init.xavier_uniform_(m.weight); return m
    head = classifier()
    specs = [(3, 4)] if ppl_mode == 'single' else [(2, 2), (3, 4)]  # (index of the cut stage, K)
    widths = [16, 32, 32, 64, 64, 64]
    branches = nn.ModuleList([nn.ModuleDict({'phi1': phi(widths[i]), 'phi2': phi(64), 'cls': classifier()}) for i, _ in specs])
    new = list(head.parameters()) + list(branches.parameters())
    half = round(epochs * 0.5)
    def stage_at(ep):
        if ppl_mode == 'single': return [0], False, set()
        if ep < half: return [], False, set(branches.parameters())  # the undestructed classifier alone
        if ppl_mode == 'explicit': return [0, 1], True, set()
        step = 0 if ep < half + (epochs - half + 1) // 2 else 1
        frozen = set(branches[1 - step].parameters())
        if step == 1: frozen |= {p for st in stages[:specs[1][0] + 1] for p in st.parameters()}
        return [step], False, frozen
    def ppl_features(x, active, detach):
        taps, t = {}, x
        for i, st in enumerate(stages): t = st(t); taps[i] = t
        out = []
        for b in active:
            cut, k = specs[b]; br = branches[b]
            p = br['phi1'](patch_split(taps[cut].detach() if detach else taps[cut], k))
            for st in stages[cut + 1:]: p = st(p)
            out.append((b, patch_merge(br['phi2'](p), k, t)))
        return t, out
    cur = {'active': [], 'detach': False}
    def train_loss(x, yb):
        g, parts_ = ppl_features(x, cur['active'], cur['detach'])
        s_ = head(g.mean((2, 3), keepdim=True)).flatten(1)
        for b, f in parts_: s_ = s_ + branches[b]['cls'](f.mean((2, 3), keepdim=True)).flatten(1)
        return F.multilabel_soft_margin_loss(s_, yb)
    final = [1] if ppl_mode == 'implicit' else list(range(len(specs)))
    def group_maps(x):  # each group's ReLU(W_g F_g) / (max + 1e-5) per view: F-hat first, then the final branches
        g, parts_ = ppl_features(x, final, False)
        maps = [F.relu(head(g))] + [F.relu(branches[b]['cls'](f)) for b, f in parts_]
        return [m / (m.amax((2, 3), keepdim=True) + 1e-5) for m in maps]  # the evaluation averages them (§III-E)
elif mode in ('cam', 'hspp', 'words', 'vwe'):
    head = nn.Conv2d(64, K, 1, bias=False)
    new = list(head.parameters())
    pool = hspp if mode in ('hspp', 'vwe') else (lambda f: f.mean((2, 3)))
    def scores(f): return head(pool(f)[:, :, None, None]).flatten(1)
    def view_maps(f): return F.relu(head(f))
    if mode in ('words', 'vwe'):
        # VWE (Ru et al.): a codebook of 32 words, cosine similarity of the detached per-pixel unit
        # features with the unit words, softmax assignment P, mean word frequency -> word-to-image
        # classifier (image labels); GAP -> word classifier (labels: words that win some pixel);
        # CAM = max(image-branch CAM, ReLU(sum_k W_w2i[c, k] P_k)).
        NW = 32
        codebook = nn.Parameter(torch.randn(NW, 64) / (3 * 64) ** 0.5)
        w2i = nn.Linear(NW, K, bias=False); wcls = nn.Linear(64, NW, bias=False)
        new += [codebook] + list(w2i.parameters()) + list(wcls.parameters())
        def assign(f): return torch.softmax(torch.einsum('bdyx,kd->bkyx', F.normalize(f.detach(), dim=1), F.normalize(codebook, dim=1)), 1)
        def extra_loss(f, yb):
            p = assign(f)
            wl = F.one_hot(p.argmax(1).flatten(1), NW).amax(1).float()
            return F.multilabel_soft_margin_loss(w2i(p.mean((2, 3))), yb) + F.multilabel_soft_margin_loss(wcls(f.mean((2, 3))), wl)
        def view_maps(f): return torch.maximum(F.relu(head(f)), F.relu(torch.einsum('bkyx,ck->bcyx', assign(f), w2i.weight)))
else:
    d = 32
    da = nn.Conv2d(64, K + 1, 3, 1, 1, bias=False); nn.init.xavier_uniform_(da.weight)
    red = nn.Conv2d(64, d, 1, bias=False)
    fc = nn.Parameter(torch.empty(K, d)); nn.init.kaiming_uniform_(fc, a=5 ** 0.5)
    new = list(da.parameters()) + list(red.parameters()) + [fc]
    def masks(f): return F.normalize(da(f), dim=1).abs()
    def scores(f):
        m = masks(f)[:, :K].flatten(2)                      # B K hw
        xx = red(f).flatten(2)                              # B d hw
        pooled = torch.einsum('bkp,bdp->bkd', m, xx) / m.shape[2]
        return (pooled * fc[None]).sum(2)
    def view_maps(f): return masks(f)[:, :K]

if not mode.startswith('ppl-'):
    def train_loss(x, yb):
        f = trunk(x); l = F.multilabel_soft_margin_loss(scores(f), yb)
        return l + extra_loss(f, yb) if extra_loss else l
    def view_maps_img(x): return view_maps(trunk(x))
modules = [trunk] + ([head, branches] if mode.startswith('ppl-') else [])
# WSSS_WEIGHTS=RUN/model.safetensors: no training; label with a wsss run's weights (cam, ppl-*), inputs
# normalised with wsss's exact ImageNet mean/std: checks this script's labelling against wsss's own.
if os.environ.get('WSSS_WEIGHTS'):
    if not (mode == 'cam' or mode.startswith('ppl-')): sys.exit('WSSS_WEIGHTS takes the cam and ppl-* modes')
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1) * 255, torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1) * 255
    fh = open(os.environ['WSSS_WEIGHTS'], 'rb'); hn = int.from_bytes(fh.read(8), 'little'); hdr = json.loads(fh.read(hn)); blob = fh.read()
    wt = {k: torch.tensor(np.frombuffer(blob[v['data_offsets'][0]:v['data_offsets'][1]], dtype=np.float32).reshape(v['shape']).copy()) for k, v in hdr.items() if k != '__metadata__'}
    def load_cbr(seq, pre):
        seq[0].weight.data.copy_(wt[pre + '.conv.weight'])
        for a in ('weight', 'bias', 'running_mean', 'running_var'): getattr(seq[1], a).data.copy_(wt[f'{pre}.bn.{a}'])
    for i, st in enumerate(stages): load_cbr(st, f'backbone.{i}')
    head.weight.data.copy_(wt['head.classifier.weight'])
    if mode.startswith('ppl-'):
        for b, br in enumerate(branches):
            load_cbr(br['phi1'], f'branches.{b}.phi1'); load_cbr(br['phi2'], f'branches.{b}.phi2'); br['cls'].weight.data.copy_(wt[f'branches.{b}.classifier.weight'])
    epochs = 0; tot = 0.0
def augment_batch(xb):  # the default: one rescale 0.9-1.1 and crop offset (mean fill) for the batch, per-image flip, brightness/contrast 0.1
    s = float(np.random.uniform(0.9, 1.1)); sz = int(round(64 * s))
    xb = F.interpolate(xb, size=(sz, sz), mode='bilinear', align_corners=False)
    canvas = mean.expand(len(xb), 3, 64, 64).clone()
    if sz >= 64:
        oy, ox = np.random.randint(0, sz - 63, 2); canvas = xb[:, :, oy:oy + 64, ox:ox + 64]
    else:
        oy, ox = np.random.randint(0, 65 - sz, 2); canvas[:, :, oy:oy + sz, ox:ox + sz] = xb
    xb = canvas
    fl = torch.rand(len(xb)) < 0.5; xb[fl] = xb[fl].flip(3)
    br = torch.empty(len(xb), 1, 1, 1).uniform_(0.9, 1.1); ct = torch.empty(len(xb), 1, 1, 1).uniform_(0.9, 1.1)
    m_ = xb.mean((1, 2, 3), keepdim=True); return ((xb - m_) * ct + m_) * br

# AUG=per-image: wsss's training augmentation instead (train/data/augment.ts): per image a rescale
# 0.9-1.1, a flip, a crop offset (black fill), then brightness, contrast, saturation 0.1 in random order, clamped.
per_image_aug = os.environ.get('AUG') == 'per-image'
if os.environ.get('AUG') and not per_image_aug: sys.exit(f"AUG must be 'per-image' or unset, got {os.environ['AUG']}")
def augment_like_wsss(im):
    sz = max(1, int(round(64 * float(np.random.uniform(0.9, 1.1)))))
    im = F.interpolate(im[None], size=(sz, sz), mode='bilinear', align_corners=False)[0]
    if np.random.rand() < 0.5: im = im.flip(2)
    cv = torch.zeros(3, 64, 64)
    if sz >= 64:
        oy, ox = np.random.randint(0, sz - 63, 2); cv = im[:, oy:oy + 64, ox:ox + 64].clone()
    else:
        oy, ox = np.random.randint(0, 65 - sz, 2); cv[:, oy:oy + sz, ox:ox + sz] = im
    for op in np.random.permutation(['b', 'c', 's']):
        f_ = float(np.random.uniform(0.9, 1.1)); grey = 0.299 * cv[0] + 0.587 * cv[1] + 0.114 * cv[2]
        if op == 'b': cv = cv * f_
        elif op == 'c': cv = (cv - grey.mean()) * f_ + grey.mean()
        else: cv = (cv - grey[None]) * f_ + grey[None]
        cv = cv.clamp(0, 255)
    return cv

opt = torch.optim.SGD([{'params': trunk.parameters(), 'lr': 0.05}, {'params': new, 'lr': 0.5}], lr=0.05, momentum=0.9, weight_decay=1e-4)
base = [g['lr'] for g in opt.param_groups]
n = len(ids); per = n // 16; steps = epochs * per; step = 0; t0 = time.time()
for ep in range(epochs):
    for m in modules: m.train()
    if stage_at:
        cur['active'], cur['detach'], frozen = stage_at(ep)
        for p in [*trunk.parameters(), *new]: p.requires_grad_(p not in frozen)
    perm = torch.randperm(n); tot = 0.0
    for b in range(per):
        idx = perm[b * 16:(b + 1) * 16]
        xb = x255[idx].clone()
        xb = torch.stack([augment_like_wsss(im) for im in xb]) if per_image_aug else augment_batch(xb)
        warm = min(1.0, 0.1 + 0.9 * step / 20)
        for g, l in zip(opt.param_groups, base): g['lr'] = l * (1 - step / steps) ** 0.9 * warm
        loss = train_loss((xb - mean) / std, y[idx])
        opt.zero_grad(set_to_none=True); loss.backward(); opt.step(); step += 1; tot += loss.item()
    print(f'{mode} s{seed} ep {ep + 1} loss {tot / per:.4f} t {time.time() - t0:.0f}s', file=sys.stderr, flush=True)

# Multi-scale + flip CAMs as wsss's runtime merges them (cam/hspp: per scale max(view, unflipped twin),
# sum over scales, /(max + 1e-5); da: sum of all 8 views, /max).
for m in modules: m.eval()
H = W = 64
with torch.no_grad():
    acc = torch.zeros(n, K, H, W)
    n_groups = 1 + len(final) if mode.startswith('ppl-') else 0  # F-hat and the final model's branches
    group_acc = [torch.zeros(n, K, H, W) for _ in range(n_groups)]  # ppl: each group's CAM alone, merged the same way
    for s in (1.0, 0.5, 1.5, 2.0):
        sz = int(round(64 * s))
        xs = x255 if s == 1 else F.interpolate(x255, size=(sz, sz), mode='bilinear', align_corners=False, antialias=(s < 1))
        for i in range(0, n, 250):
            xb = (xs[i:i + 250] - mean) / std
            if n_groups:
                ga, gb = group_maps(xb), [m.flip(3) for m in group_maps(xb.flip(3))]
                for acc_g, ma, mb in zip(group_acc, ga, gb):
                    acc_g[i:i + 250] += F.interpolate(torch.maximum(ma, mb), size=(H, W), mode='bilinear', align_corners=False)
                a, b = torch.stack(ga).mean(0), torch.stack(gb).mean(0)
            else:
                a = view_maps_img(xb); b = view_maps_img(xb.flip(3)).flip(3)
            if mode == 'da':
                acc[i:i + 250] += F.interpolate(a, size=(H, W), mode='bilinear', align_corners=False) + F.interpolate(b, size=(H, W), mode='bilinear', align_corners=False)
            else:
                acc[i:i + 250] += F.interpolate(torch.maximum(a, b), size=(H, W), mode='bilinear', align_corners=False)
    eps = 0 if mode == 'da' else 1e-5
    def finish(a): return a / (a.amax((2, 3), keepdim=True) + eps) * y[:, :, None, None]  # keep the image's classes only
    acc = finish(acc); group_acc = [finish(a) for a in group_acc]
    def evaluate(bg, acc=acc):
        full = torch.cat([torch.full((n, 1, H, W), bg), acc], 1)
        pred = full.argmax(1).numpy()
        valid = gt != 255
        conf = np.bincount((gt[valid] * (K + 1) + pred[valid]), minlength=(K + 1) ** 2).reshape(K + 1, K + 1)
        tp = np.diag(conf); union = conf.sum(0) + conf.sum(1) - tp
        miou = float(np.mean(tp[union > 0] / union[union > 0]))
        body = parts == 1; head = parts == 2
        return miou, float((pred[body] == gt[body]).mean()), float((pred[head] == gt[head]).mean())
    rule_bg = 0.15 if mode.startswith('ppl-') else {'da': 0.5, 'cam': 0.15}.get(mode, 0.14)  # each model's rule in the bench (VWE's rows: the code's 0.14)
    m, br_, hr = evaluate(rule_bg)
    sweep = {t: evaluate(t)[0] for t in [0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6]}
    best = max(sweep, key=sweep.get)
    def background_hits(a):  # share of background pixels where some class of the image scores above the threshold
        return round(float((a.amax(1)[torch.tensor(gt) == 0] > rule_bg).float().mean()), 4)
    groups = {'groups_miou': [round(evaluate(rule_bg, a)[0], 4) for a in group_acc],  # F-hat, then the branches
              'groups_background_hits': [background_hits(a) for a in group_acc]} if group_acc else {}
print(json.dumps({**groups, 'mode': mode, 'seed': seed, 'epochs': epochs, 'final_loss': round(tot / per, 4), 'bg': rule_bg, 'miou': round(m, 4),
                  'body_recall': round(br_, 4), 'head_recall': round(hr, 4), 'best_bg': best, 'best_miou': round(sweep[best], 4), 'secs': round(time.time() - t0)}), flush=True)
