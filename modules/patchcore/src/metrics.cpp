// This file is part of the cv::patchcore module.
//
// Every metric here is computed by one sort of the scores followed by a sweep over distinct score values, so the
// results are exact (no threshold binning) and cost O(n log n) for n samples. Positive and negative samples are kept
// in separate arrays: the metrics only need the two sorted score lists (plus a region index per anomalous pixel for
// PRO), which keeps memory at about 4 bytes per pixel instead of a (score, label) pair per pixel.

#include "opencv2/patchcore/metrics.hpp"
#include "errors.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

namespace cv {
namespace patchcore {
namespace {

typedef std::uint64_t Count;

void splitImageScores(const char* fn, const std::vector<double>& scores, const std::vector<int>& labels,
                      std::vector<double>& pos, std::vector<double>& neg)
{
    if (scores.size() != labels.size())
        PATCHCORE_ERROR(Error::StsBadSize, format("%s: %zu scores but %zu labels; give exactly one label per score", fn,
                                                  scores.size(), labels.size()));
    if (scores.empty())
        PATCHCORE_ERROR(Error::StsBadArg, format("%s: no scores given", fn));
    for (size_t i = 0; i < scores.size(); ++i)
    {
        if (std::isnan(scores[i]))
            PATCHCORE_ERROR(Error::StsBadArg, format("%s: score %zu is NaN; every score must be a number", fn, i));
        if (labels[i] == 1)
            pos.push_back(scores[i]);
        else if (labels[i] == 0)
            neg.push_back(scores[i]);
        else
            PATCHCORE_ERROR(Error::StsBadArg, format("%s: label %zu is %d; labels must be 0 (normal) or 1 (anomalous)",
                                                     fn, i, labels[i]));
    }
}

// A std::vector<Mat> must be taken entry by entry: getMatVector() on a single Mat would split it into rows.
std::vector<Mat> matList(InputArrayOfArrays arr)
{
    std::vector<Mat> out;
    if (arr.isMatVector() || arr.isUMatVector())
    {
        const size_t n = arr.total();
        out.reserve(n);
        for (size_t i = 0; i < n; ++i)
            out.push_back(arr.getMat(static_cast<int>(i)));
    }
    else if (!arr.empty())
    {
        out.push_back(arr.getMat());
    }
    return out;
}

// Checks maps and masks, and returns each mask binarised to 0/255 so later passes need not care about its type.
std::vector<Mat> validateMapsAndMasks(const char* fn, const std::vector<Mat>& maps, const std::vector<Mat>& masks)
{
    if (maps.empty())
        PATCHCORE_ERROR(Error::StsBadArg, format("%s: no anomaly maps given", fn));
    if (maps.size() != masks.size())
        PATCHCORE_ERROR(Error::StsBadSize, format("%s: %zu anomaly maps but %zu masks; give one mask per map", fn,
                                                  maps.size(), masks.size()));
    std::vector<Mat> binary(maps.size());
    for (size_t i = 0; i < maps.size(); ++i)
    {
        const Mat& map = maps[i];
        const Mat& mask = masks[i];
        if (map.empty() || map.dims != 2)
            PATCHCORE_ERROR(Error::StsBadArg, format("%s: anomaly map %zu is empty or not 2-D", fn, i));
        if (map.type() != CV_32FC1)
            PATCHCORE_ERROR(Error::StsBadArg, format("%s: anomaly map %zu has type %s; convert it to CV_32FC1", fn, i,
                                                     typeToString(map.type()).c_str()));
        if (mask.dims != 2 || mask.size() != map.size())
            PATCHCORE_ERROR(Error::StsBadSize,
                            format("%s: mask %zu is %dx%d but its anomaly map is %dx%d; resize the mask "
                                   "to the map's size (INTER_NEAREST)",
                                   fn, i, mask.cols, mask.rows, map.cols, map.rows));
        if (mask.type() == CV_8UC1)
            compare(mask, 0, binary[i], CMP_GT);
        else if (mask.type() == CV_32FC1)
            compare(mask, 0.5, binary[i], CMP_GT);
        else
            PATCHCORE_ERROR(Error::StsBadArg, format("%s: mask %zu has type %s; masks must be CV_8UC1 or CV_32FC1", fn,
                                                     i, typeToString(mask.type()).c_str()));
    }
    return binary;
}

void nanError(const char* fn, size_t image, int x, int y)
{
    PATCHCORE_ERROR(Error::StsBadArg,
                    format("%s: anomaly map %zu has NaN at (x=%d, y=%d); every score must be a number", fn, image, x,
                           y));
}

void splitPixelScores(const char* fn, InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks,
                      std::vector<float>& pos, std::vector<float>& neg)
{
    const std::vector<Mat> maps = matList(anomalyMaps);
    const std::vector<Mat> binary = validateMapsAndMasks(fn, maps, matList(masks));
    size_t nPos = 0, nAll = 0;
    for (size_t i = 0; i < maps.size(); ++i)
    {
        nPos += static_cast<size_t>(countNonZero(binary[i]));
        nAll += maps[i].total();
    }
    pos.reserve(nPos);
    neg.reserve(nAll - nPos);
    for (size_t i = 0; i < maps.size(); ++i)
    {
        for (int y = 0; y < maps[i].rows; ++y)
        {
            const float* s = maps[i].ptr<float>(y);
            const uchar* m = binary[i].ptr<uchar>(y);
            for (int x = 0; x < maps[i].cols; ++x)
            {
                if (std::isnan(s[x]))
                    nanError(fn, i, x, y);
                (m[x] ? pos : neg).push_back(s[x]);
            }
        }
    }
}

void requireBothClasses(const char* fn, size_t nPos, size_t nNeg, const char* what)
{
    if (nPos == 0)
        PATCHCORE_ERROR(Error::StsBadArg,
                        format("%s: no anomalous %s; AUROC needs at least one of each class", fn, what));
    if (nNeg == 0)
        PATCHCORE_ERROR(Error::StsBadArg, format("%s: no normal %s; AUROC needs at least one of each class", fn, what));
}

// Mann-Whitney: 2U = sum over positives of (2 * negatives below + negatives equal). Counting in integers keeps the
// result exact up to the final division, however many ties there are.
template <typename T>
double aurocFromSorted(const std::vector<T>& pos, const std::vector<T>& neg)
{
    Count twiceU = 0;
    size_t below = 0;
    for (size_t i = 0; i < pos.size();)
    {
        const T v = pos[i];
        size_t j = i;
        while (j < pos.size() && pos[j] == v)
            ++j;
        while (below < neg.size() && neg[below] < v)
            ++below;
        size_t upTo = below;
        while (upTo < neg.size() && neg[upTo] == v)
            ++upTo;
        twiceU += static_cast<Count>(j - i) * (2 * static_cast<Count>(below) + static_cast<Count>(upTo - below));
        i = j;
    }
    return static_cast<double>(twiceU) / (2.0 * static_cast<double>(pos.size()) * static_cast<double>(neg.size()));
}

// Sweeps thresholds from the largest score down. F1 = 2 TP / (TP + FP + P); candidates are compared by integer
// cross-multiplication so that equal F1 values are recognised as ties, which then keep the larger threshold.
template <typename T>
F1Threshold f1FromSorted(const std::vector<T>& pos, const std::vector<T>& neg)
{
    const Count P = pos.size(), N = neg.size();
    size_t ip = pos.size(), in = neg.size();
    Count bestTp = 0, bestDen = 1, bestFp = 0;
    T bestT = T();
    while (ip > 0 || in > 0)
    {
        T t;
        if (ip == 0)
            t = neg[in - 1];
        else if (in == 0)
            t = pos[ip - 1];
        else
            t = std::max(pos[ip - 1], neg[in - 1]);
        while (ip > 0 && pos[ip - 1] >= t)
            --ip;
        while (in > 0 && neg[in - 1] >= t)
            --in;
        const Count tp = P - ip, fp = N - in, den = tp + fp + P;
        if (tp * bestDen > bestTp * den)
        {
            bestTp = tp;
            bestFp = fp;
            bestDen = den;
            bestT = t;
        }
    }
    F1Threshold r;
    r.threshold = static_cast<double>(bestT);
    r.f1 = 2.0 * static_cast<double>(bestTp) / static_cast<double>(bestDen);
    r.precision = bestTp ? static_cast<double>(bestTp) / static_cast<double>(bestTp + bestFp) : 0.0;
    r.recall = static_cast<double>(bestTp) / static_cast<double>(P);
    return r;
}

struct RegionPixel
{
    float score;
    int region;
};

// Compensated (Neumaier) summation: PRO adds one 1/size term per anomalous pixel, tens of millions of them, and
// plain accumulation would drift by far more than the exactness the sweep otherwise has.
struct CompensatedSum
{
    double sum = 0, carry = 0;
    void add(double v)
    {
        const double t = sum + v;
        carry += std::abs(sum) >= std::abs(v) ? (sum - t) + v : (v - t) + sum;
        sum = t;
    }
    double value() const { return sum + carry; }
};

} // namespace

double imageAUROC(const std::vector<double>& scores, const std::vector<int>& labels)
{
    const char* fn = "imageAUROC";
    std::vector<double> pos, neg;
    splitImageScores(fn, scores, labels, pos, neg);
    requireBothClasses(fn, pos.size(), neg.size(), "samples (label 1) or normal samples (label 0)");
    std::sort(pos.begin(), pos.end());
    std::sort(neg.begin(), neg.end());
    return aurocFromSorted(pos, neg);
}

double pixelAUROC(InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks)
{
    const char* fn = "pixelAUROC";
    std::vector<float> pos, neg;
    splitPixelScores(fn, anomalyMaps, masks, pos, neg);
    requireBothClasses(fn, pos.size(), neg.size(), "pixels in the masks");
    std::sort(pos.begin(), pos.end());
    std::sort(neg.begin(), neg.end());
    return aurocFromSorted(pos, neg);
}

double computePRO(InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks, double maxFpr)
{
    const char* fn = "computePRO";
    if (!(maxFpr > 0.0 && maxFpr <= 1.0))
        PATCHCORE_ERROR(Error::StsBadArg,
                        format("%s: maxFpr is %g; it must lie in (0, 1] (the tables use 0.3)", fn, maxFpr));
    const std::vector<Mat> maps = matList(anomalyMaps);
    const std::vector<Mat> binary = validateMapsAndMasks(fn, maps, matList(masks));

    std::vector<RegionPixel> pos;
    std::vector<float> neg;
    std::vector<Count> regionSize;
    Mat labels;
    for (size_t i = 0; i < maps.size(); ++i)
    {
        const int nLabels = connectedComponents(binary[i], labels, 8, CV_32S);
        const int offset = static_cast<int>(regionSize.size()) - 1; // label 0 is the background
        regionSize.resize(regionSize.size() + static_cast<size_t>(nLabels - 1), 0);
        for (int y = 0; y < maps[i].rows; ++y)
        {
            const float* s = maps[i].ptr<float>(y);
            const int* l = labels.ptr<int>(y);
            for (int x = 0; x < maps[i].cols; ++x)
            {
                if (std::isnan(s[x]))
                    nanError(fn, i, x, y);
                if (l[x] > 0)
                {
                    const RegionPixel p = {s[x], offset + l[x]};
                    pos.push_back(p);
                    ++regionSize[static_cast<size_t>(p.region)];
                }
                else
                {
                    neg.push_back(s[x]);
                }
            }
        }
    }
    if (regionSize.empty())
        PATCHCORE_ERROR(Error::StsBadArg,
                        format("%s: every mask is empty; PRO needs at least one anomalous region", fn));
    if (neg.empty())
        PATCHCORE_ERROR(Error::StsBadArg,
                        format("%s: no normal pixels in the masks; PRO needs them for the false-positive "
                               "rate",
                               fn));

    std::vector<double> weight(regionSize.size());
    for (size_t r = 0; r < regionSize.size(); ++r)
        weight[r] = 1.0 / static_cast<double>(regionSize[r]);
    std::sort(pos.begin(), pos.end(), [](const RegionPixel& a, const RegionPixel& b) { return a.score > b.score; });
    std::sort(neg.begin(), neg.end(), std::greater<float>());

    // Walk the curve from (0, 0), one point per distinct score; stop at the first point at or beyond maxFpr, whose
    // segment is cut at maxFpr by linear interpolation. The last point always has FPR = 1, so the loop ends there.
    const double nNeg = static_cast<double>(neg.size());
    const double nRegions = static_cast<double>(regionSize.size());
    CompensatedSum overlap;
    double prevFpr = 0, prevPro = 0, area = 0;
    size_t ip = 0, in = 0;
    while (ip < pos.size() || in < neg.size())
    {
        float t;
        if (ip == pos.size())
            t = neg[in];
        else if (in == neg.size())
            t = pos[ip].score;
        else
            t = std::max(pos[ip].score, neg[in]);
        for (; ip < pos.size() && pos[ip].score >= t; ++ip)
            overlap.add(weight[static_cast<size_t>(pos[ip].region)]);
        while (in < neg.size() && neg[in] >= t)
            ++in;
        const double fpr = static_cast<double>(in) / nNeg;
        const double pro = overlap.value() / nRegions;
        if (fpr >= maxFpr)
        {
            // prevFpr < maxFpr <= fpr, so the segment has positive width.
            const double proAtMax = prevPro + (pro - prevPro) * (maxFpr - prevFpr) / (fpr - prevFpr);
            area += 0.5 * (maxFpr - prevFpr) * (prevPro + proAtMax);
            break;
        }
        area += 0.5 * (fpr - prevFpr) * (prevPro + pro);
        prevFpr = fpr;
        prevPro = pro;
    }
    return area / maxFpr;
}

F1Threshold bestF1Threshold(const std::vector<double>& scores, const std::vector<int>& labels)
{
    const char* fn = "bestF1Threshold";
    std::vector<double> pos, neg;
    splitImageScores(fn, scores, labels, pos, neg);
    if (pos.empty())
        PATCHCORE_ERROR(Error::StsBadArg,
                        format("%s: no anomalous samples (label 1); F1 is undefined without them", fn));
    std::sort(pos.begin(), pos.end());
    std::sort(neg.begin(), neg.end());
    return f1FromSorted(pos, neg);
}

F1Threshold bestPixelF1Threshold(InputArrayOfArrays anomalyMaps, InputArrayOfArrays masks)
{
    const char* fn = "bestPixelF1Threshold";
    std::vector<float> pos, neg;
    splitPixelScores(fn, anomalyMaps, masks, pos, neg);
    if (pos.empty())
        PATCHCORE_ERROR(Error::StsBadArg,
                        format("%s: every mask is empty; F1 is undefined without anomalous pixels", fn));
    std::sort(pos.begin(), pos.end());
    std::sort(neg.begin(), neg.end());
    return f1FromSorted(pos, neg);
}

std::vector<double> minMaxNormalize(const std::vector<double>& scores)
{
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    for (size_t i = 0; i < scores.size(); ++i)
    {
        if (!std::isfinite(scores[i]))
            PATCHCORE_ERROR(Error::StsBadArg,
                            format("minMaxNormalize: score %zu is %g; every score must be finite", i, scores[i]));
        lo = std::min(lo, scores[i]);
        hi = std::max(hi, scores[i]);
    }
    std::vector<double> out(scores.size(), 0.0);
    if (hi > lo)
        for (size_t i = 0; i < scores.size(); ++i)
            out[i] = (scores[i] - lo) / (hi - lo);
    return out;
}

} // namespace patchcore
} // namespace cv
