# PAMR in PyTorch, written from ../shared/reference/SPEC.md §1.3 (not the authors' code) as the
# speed reference of bench/pamr.ts: usage `python3 pamr-torch.py THREADS golden` (checks the two
# golden vectors) or `python3 pamr-torch.py THREADS SIZE CLASSES REPS` (median ms as one JSON line).
import json, os, sys, time, torch, torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 1)
OFF = [(-1,-1),(-1,0),(-1,1),(0,-1),(0,1),(1,-1),(1,0),(1,1)]
def neighbours(x, dils):  # x [B,C,H,W] -> [B,C,P,H,W]
    B,C,H,W = x.shape
    out = []
    for d in dils:
        p = F.pad(x, (d,d,d,d), mode='replicate')
        for dy,dx in OFF:
            out.append(p[:,:,d+dy*d:d+dy*d+H, d+dx*d:d+dx*d+W])
    return torch.stack(out, 2)
def pamr(img, mask, dils=(1,2,4,8,12,24), iters=10):
    B,K,H,W = img.shape
    mask = F.interpolate(mask, size=(H,W), mode='bilinear', align_corners=True)
    n = neighbours(img, dils)                              # [B,K,P,H,W]
    samples = torch.cat([n, img.unsqueeze(2).expand(B,K,len(dils),H,W)], 2)
    std = samples.std(2, keepdim=True)                     # unbiased
    k = -(img.unsqueeze(2) - n).abs() / (1e-8 + 0.1*std)
    aff = F.softmax(k.mean(1, keepdim=True), 2)            # [B,1,P,H,W]
    for _ in range(iters):
        mask = (neighbours(mask, dils) * aff).sum(2)
    return mask
if sys.argv[2] == 'golden':
    for f in ['pamr', 'pamr_d12_it3']:
        v = json.load(open(os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'reference', 'vectors', f'{f}.json')))
        t = lambda n: torch.tensor(v['inputs'][n]['data'], dtype=torch.float32).reshape(v['inputs'][n]['shape'])
        out = pamr(t('image'), t('mask'), v['params']['dilations'], v['params']['num_iter'])
        exp = torch.tensor(v['outputs']['refined_mask']['data']).reshape(out.shape)
        print(f, 'max abs err', (out-exp).abs().max().item())
else:
    H, C, reps = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    g = torch.Generator().manual_seed(0)
    img = torch.rand(1,3,H,H, generator=g); mask = torch.softmax(torch.randn(1,C,H,H, generator=g), 1)
    with torch.no_grad():
        pamr(img, mask)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter(); pamr(img, mask); ts.append(time.perf_counter()-t0)
    print(json.dumps({'torch_ms': sorted(ts)[len(ts)//2]*1000, 'threads': torch.get_num_threads(), 'H': H, 'C': C}))
