# Reference values for test/stats/*.test.ts, computed with scipy (1.17) and numpy, never with clustershift:
#   python3 -m venv /tmp/sci && /tmp/sci/bin/pip install scipy numpy && /tmp/sci/bin/python test/stats/reference.py
import numpy as np
from scipy import stats, optimize
from scipy.stats import norm, multivariate_normal

print("normal sf(1.96)", repr(norm.sf(1.96)), "sf(6)", repr(norm.sf(6.0)), "cdf(-3.5)", repr(norm.cdf(-3.5)))
print("normal ppf(0.975)", repr(norm.ppf(0.975)), "ppf(1e-10)", repr(norm.ppf(1e-10)), "ppf(0.3)", repr(norm.ppf(0.3)))

small_x = [1.1, 2.3, 0.7, 5.2, 3.3]
small_y = [4.4, 6.1, 5.9, 7.2, 3.9, 8.0]
r = stats.mannwhitneyu(small_x, small_y, alternative="two-sided", method="exact")
print("exact", r.statistic, repr(r.pvalue))

tied_x = [1, 2, 3, 4, 5, 5, 6]
tied_y = [3, 6, 7, 8, 9, 10, 5, 5]
r = stats.mannwhitneyu(tied_x, tied_y, alternative="two-sided", method="asymptotic", use_continuity=True)
print("tied", r.statistic, repr(r.pvalue))

big_x = [(i * 37 % 101) / 10 for i in range(40)]
big_y = [(j * 53 % 97) / 10 + 0.8 for j in range(35)]
r = stats.mannwhitneyu(big_x, big_y, alternative="two-sided", method="asymptotic", use_continuity=True)
print("big", r.statistic, repr(r.pvalue))
d = np.sort(np.subtract.outer(np.array(big_y), np.array(big_x)).ravel())
n, m = len(big_x), len(big_y)
k = int(np.floor(n * m / 2 - norm.ppf(0.975) * np.sqrt(n * m * (n + m + 1) / 12)))
print("big HL", repr(np.median(d)), "CI95", repr(d[k]), repr(d[n * m - 1 - k]), "k", k)

# Group-sequential boundaries, each solved so that P(first crossing at look k) = alpha(t_k) - alpha(t_k-1)
# under H0, with the crossing probabilities from scipy's multivariate normal CDF (Genz), corr(Z_i, Z_j) =
# sqrt(t_i / t_j): independent of the numerical integration in src/stats/spending.ts.
def boundaries(spend, alpha, times):
    out = []
    for k, t in enumerate(times):
        inc = spend(alpha, t) - (spend(alpha, times[k - 1]) if k else 0.0)
        ts = times[: k + 1]
        cov = np.array([[np.sqrt(min(a, b) / max(a, b)) for b in ts] for a in ts])
        def stay(bk):
            bs = np.array(out + [bk])
            return multivariate_normal(mean=np.zeros(k + 1), cov=cov, allow_singular=True).cdf(bs, lower_limit=-bs)
        prev = 1.0 if k == 0 else multivariate_normal(mean=np.zeros(k), cov=cov[:k, :k]).cdf(np.array(out), lower_limit=-np.array(out))
        out.append(optimize.brentq(lambda bk: (prev - stay(bk)) - inc, 0.5, 12, xtol=1e-6))
    return out

obf = lambda a, t: 4 * norm.sf(norm.ppf(1 - a / 4) / np.sqrt(t))
pocock = lambda a, t: a * np.log(1 + (np.e - 1) * t)
np.random.seed(1)
print("OBF K=5", [round(b, 4) for b in boundaries(obf, 0.05, [0.2, 0.4, 0.6, 0.8, 1.0])])
print("Pocock K=5", [round(b, 4) for b in boundaries(pocock, 0.05, [0.2, 0.4, 0.6, 0.8, 1.0])])
print("OBF K=10", [round(b, 4) for b in boundaries(obf, 0.05, [i / 10 for i in range(1, 11)])])
