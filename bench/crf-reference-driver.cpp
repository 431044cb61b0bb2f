// Times the C++ reference dense CRF (Krähenbühl & Koltun's densecrf, as vendored by pydensecrf) on
// the same input as `npm run bench -- crf`, which runs it when given `--reference BIN`. Not part of
// the build: compile it OUTSIDE the project against a checkout of pydensecrf, e.g.
//
//   git clone https://github.com/lucasb-eyer/pydensecrf /work/crf-ref/pydensecrf
//   D=/work/crf-ref/pydensecrf/pydensecrf/densecrf
//   g++ -O3 -march=native -DNDEBUG -I$D/include -I$D/src -I$D/external/liblbfgs/include \
//     bench/crf-reference-driver.cpp $D/src/{densecrf,permutohedral,pairwise,labelcompatibility,unary,util,objective,optimization}.cpp \
//     $D/external/liblbfgs/lib/lbfgs.c -o /work/crf-ref/ref_driver
//
// usage: driver W H image.rgb unary.f32 C iterations g_sxy g_compat b_sxy b_srgb b_compat runs [q_out.f32]
//   image.rgb: uint8 [H*W][3]; unary.f32: float32 energies [C][H*W]. Prints one JSON line with
//   the median ms of `runs` calls, each building the CRF (lattices) and running inference, as
//   pydensecrf's DenseCRF2D + addPairwiseGaussian + addPairwiseBilateral + inference do.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "densecrf.h"

int main(int argc, char **argv) {
  if (argc < 13) {
    fprintf(stderr, "usage: %s W H image.rgb unary.f32 C iterations g_sxy g_compat b_sxy b_srgb b_compat runs [q_out.f32]\n", argv[0]);
    return 2;
  }
  const int W = atoi(argv[1]), H = atoi(argv[2]), N = W * H, C = atoi(argv[5]), iters = atoi(argv[6]), runs = atoi(argv[12]);
  const float gs = atof(argv[7]), gc = atof(argv[8]), bs = atof(argv[9]), br = atof(argv[10]), bc = atof(argv[11]);
  std::vector<unsigned char> im(N * 3);
  std::vector<float> u((size_t)C * N);
  FILE *f = fopen(argv[3], "rb");
  if (!f || fread(im.data(), 1, im.size(), f) != im.size()) return 1;
  fclose(f);
  f = fopen(argv[4], "rb");
  if (!f || fread(u.data(), 4, u.size(), f) != u.size()) return 1;
  fclose(f);
  MatrixXf U(C, N);
  for (int c = 0; c < C; c++)
    for (int i = 0; i < N; i++) U(c, i) = u[(size_t)c * N + i];
  std::vector<double> ms;
  MatrixXf Q;
  for (int r = 0; r < runs; r++) {
    auto t0 = std::chrono::steady_clock::now();
    DenseCRF2D crf(W, H, C);
    crf.setUnaryEnergy(U);
    crf.addPairwiseGaussian(gs, gs, new PottsCompatibility(gc));
    crf.addPairwiseBilateral(bs, bs, br, br, br, im.data(), new PottsCompatibility(bc));
    Q = crf.inference(iters);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  printf("{\"median_ms\":%.2f,\"min_ms\":%.2f}\n", ms[ms.size() / 2], ms[0]);
  if (argc > 13) {
    f = fopen(argv[13], "wb");
    std::vector<float> q((size_t)C * N);
    for (int c = 0; c < C; c++)
      for (int i = 0; i < N; i++) q[(size_t)c * N + i] = Q(c, i);
    fwrite(q.data(), 4, q.size(), f);
    fclose(f);
  }
  return 0;
}
