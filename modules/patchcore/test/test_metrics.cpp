// Tests of the evaluation metrics against hand-computed values and against deliberately naive reference
// implementations (pair counting, per-threshold rescans, a flood-fill region labelling) that share no code with
// the module.
#include "test_precomp.hpp"

#include "opencv2/patchcore/metrics.hpp"

#include <cmath>
#include <functional>
#include <limits>
#include <set>
#include <vector>

namespace opencv_test {
namespace {

using namespace cv;
using namespace cv::patchcore;

double bruteAUROC(const std::vector<double>& s, const std::vector<int>& l)
{
    double wins = 0, pairs = 0;
    for (size_t i = 0; i < s.size(); ++i)
        for (size_t j = 0; j < s.size(); ++j)
            if (l[i] == 1 && l[j] == 0)
            {
                pairs += 1;
                wins += s[i] > s[j] ? 1.0 : (s[i] == s[j] ? 0.5 : 0.0);
            }
    return wins / pairs;
}

F1Threshold bruteF1(const std::vector<double>& s, const std::vector<int>& l)
{
    std::set<double, std::greater<double>> thresholds(s.begin(), s.end());
    double P = 0;
    for (int v : l)
        P += v;
    F1Threshold best;
    best.f1 = -1;
    for (double t : thresholds) // descending, and only a strictly better F1 replaces: ties keep the larger t
    {
        double tp = 0, fp = 0;
        for (size_t i = 0; i < s.size(); ++i)
            if (s[i] >= t)
                (l[i] ? tp : fp) += 1;
        const double f1 = 2 * tp / (tp + fp + P);
        if (f1 > best.f1)
        {
            best.threshold = t;
            best.f1 = f1;
            best.precision = tp / (tp + fp);
            best.recall = tp / P;
        }
    }
    return best;
}

bool maskOn(const Mat& mask, int y, int x)
{
    return mask.type() == CV_8UC1 ? mask.at<uchar>(y, x) > 0 : mask.at<float>(y, x) > 0.5f;
}

// 8-connected labelling by explicit flood fill; returns the number of regions, labels are 1..n, 0 = background.
int floodLabels(const Mat& mask, Mat& labels)
{
    labels = Mat::zeros(mask.size(), CV_32S);
    int n = 0;
    for (int y = 0; y < mask.rows; ++y)
        for (int x = 0; x < mask.cols; ++x)
        {
            if (!maskOn(mask, y, x) || labels.at<int>(y, x))
                continue;
            ++n;
            std::vector<Point> stack(1, Point(x, y));
            labels.at<int>(y, x) = n;
            while (!stack.empty())
            {
                const Point p = stack.back();
                stack.pop_back();
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx)
                    {
                        const Point q(p.x + dx, p.y + dy);
                        if (q.x < 0 || q.y < 0 || q.x >= mask.cols || q.y >= mask.rows)
                            continue;
                        if (maskOn(mask, q.y, q.x) && !labels.at<int>(q))
                        {
                            labels.at<int>(q) = n;
                            stack.push_back(q);
                        }
                    }
            }
        }
    return n;
}

double brutePRO(const std::vector<Mat>& maps, const std::vector<Mat>& masks, double maxFpr)
{
    std::vector<Mat> labels(maps.size());
    std::vector<int> nRegions(maps.size());
    std::set<float, std::greater<float>> thresholds;
    for (size_t i = 0; i < maps.size(); ++i)
    {
        nRegions[i] = floodLabels(masks[i], labels[i]);
        for (int y = 0; y < maps[i].rows; ++y)
            for (int x = 0; x < maps[i].cols; ++x)
                thresholds.insert(maps[i].at<float>(y, x));
    }
    std::vector<double> fprs(1, 0.0), pros(1, 0.0);
    for (float t : thresholds)
    {
        double fp = 0, normal = 0, proSum = 0, regions = 0;
        for (size_t i = 0; i < maps.size(); ++i)
        {
            std::vector<double> hit(nRegions[i] + 1, 0.0), size(nRegions[i] + 1, 0.0);
            for (int y = 0; y < maps[i].rows; ++y)
                for (int x = 0; x < maps[i].cols; ++x)
                {
                    const int r = labels[i].at<int>(y, x);
                    const bool predicted = maps[i].at<float>(y, x) >= t;
                    size[r] += 1;
                    hit[r] += predicted;
                }
            fp += hit[0];
            normal += size[0];
            for (int r = 1; r <= nRegions[i]; ++r)
                proSum += hit[r] / size[r];
            regions += nRegions[i];
        }
        fprs.push_back(fp / normal);
        pros.push_back(proSum / regions);
    }
    double area = 0;
    for (size_t k = 1; k < fprs.size(); ++k)
    {
        const double x0 = fprs[k - 1], x1 = fprs[k], y0 = pros[k - 1], y1 = pros[k];
        if (x0 >= maxFpr)
            break;
        if (x1 <= maxFpr)
            area += (x1 - x0) * (y0 + y1) / 2;
        else
        {
            const double yAt = y0 + (y1 - y0) * (maxFpr - x0) / (x1 - x0);
            area += (maxFpr - x0) * (y0 + yAt) / 2;
        }
    }
    return area / maxFpr;
}

// Scores rounded to a few levels so that ties within and across classes are common.
Mat quantisedMap(RNG& rng, Size size, int levels)
{
    Mat m(size, CV_32F);
    for (int y = 0; y < size.height; ++y)
        for (int x = 0; x < size.width; ++x)
            m.at<float>(y, x) = static_cast<float>(rng.uniform(0, levels)) / levels;
    return m;
}

void flatten(const std::vector<Mat>& maps, const std::vector<Mat>& masks, std::vector<double>& s, std::vector<int>& l)
{
    s.clear();
    l.clear();
    for (size_t i = 0; i < maps.size(); ++i)
        for (int y = 0; y < maps[i].rows; ++y)
            for (int x = 0; x < maps[i].cols; ++x)
            {
                s.push_back(maps[i].at<float>(y, x));
                l.push_back(maskOn(masks[i], y, x) ? 1 : 0);
            }
}

// A set with the region shapes the definition cares about: a diagonal chain that is one 8-connected region,
// two separate blobs in one image, an image with an empty mask, a float mask and a random speckle mask.
void regionTestSet(RNG& rng, int levels, std::vector<Mat>& maps, std::vector<Mat>& masks)
{
    maps.clear();
    masks.clear();
    Mat a = Mat::zeros(9, 11, CV_8U);
    for (int k = 0; k < 5; ++k)
        a.at<uchar>(1 + k, 1 + k) = 255; // touching only at corners
    rectangle(a, Rect(7, 1, 3, 2), Scalar(255), FILLED);
    Mat b = Mat::zeros(8, 8, CV_8U);
    rectangle(b, Rect(0, 0, 3, 3), Scalar(1), FILLED);
    rectangle(b, Rect(5, 4, 2, 4), Scalar(1), FILLED);
    Mat c = Mat::zeros(6, 7, CV_8U);
    Mat d = Mat::zeros(7, 6, CV_32F);
    circle(d, Point(3, 3), 2, Scalar(0.9), FILLED);
    d.at<float>(0, 0) = 0.4f; // not above 0.5: normal
    d.at<float>(6, 5) = 0.5f;
    Mat e(10, 10, CV_8U);
    for (int y = 0; y < e.rows; ++y)
        for (int x = 0; x < e.cols; ++x)
            e.at<uchar>(y, x) = rng.uniform(0.0, 1.0) < 0.25 ? 255 : 0;
    masks = {a, b, c, d, e};
    for (const Mat& m : masks)
        maps.push_back(quantisedMap(rng, m.size(), levels));
}

TEST(Patchcore_Metrics, imageAUROC_handComputed)
{
    EXPECT_DOUBLE_EQ(1.0, imageAUROC({0.1, 0.2, 0.8, 0.9}, {0, 0, 1, 1}));
    EXPECT_DOUBLE_EQ(0.0, imageAUROC({0.9, 0.8, 0.2, 0.1}, {0, 0, 1, 1}));
    EXPECT_DOUBLE_EQ(0.5, imageAUROC({3, 3, 3, 3, 3}, {0, 1, 0, 1, 1}));
    // Positives 0.4, 0.8, 0.4; negatives 0.1, 0.4. Pairs: 0.4>0.1 (1), 0.4=0.4 (1/2), 0.8>0.1 (1), 0.8>0.4 (1),
    // 0.4>0.1 (1), 0.4=0.4 (1/2): 5 of 6 pairs.
    EXPECT_NEAR(5.0 / 6.0, imageAUROC({0.1, 0.4, 0.4, 0.8, 0.4}, {0, 0, 1, 1, 1}), 1e-15);
    // Infinite scores are ordered like any other.
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_DOUBLE_EQ(1.0, imageAUROC({-inf, 0, inf}, {0, 1, 1}));
}

TEST(Patchcore_Metrics, imageAUROC_matchesPairCounting)
{
    RNG rng(12345);
    for (int trial = 0; trial < 50; ++trial)
    {
        const int n = rng.uniform(2, 300);
        std::vector<double> s(n);
        std::vector<int> l(n);
        for (int i = 0; i < n; ++i)
        {
            s[i] = std::round(rng.uniform(-1.0, 1.0) * 8) / 8; // about 17 distinct values
            l[i] = rng.uniform(0, 2);
        }
        l[0] = 0;
        l[1] = 1;
        EXPECT_NEAR(bruteAUROC(s, l), imageAUROC(s, l), 1e-12) << "trial " << trial;
    }
}

TEST(Patchcore_Metrics, pixelAUROC_equalsImageAUROCOnFlattenedPixels)
{
    RNG rng(7);
    std::vector<Mat> maps, masks;
    regionTestSet(rng, 12, maps, masks);
    std::vector<double> s;
    std::vector<int> l;
    flatten(maps, masks, s, l);
    const double expected = bruteAUROC(s, l);
    EXPECT_NEAR(expected, imageAUROC(s, l), 1e-12);
    EXPECT_NEAR(expected, pixelAUROC(maps, masks), 1e-12);
}

TEST(Patchcore_Metrics, pixelAUROC_acceptsSingleMatAndRoi)
{
    RNG rng(3);
    Mat big = quantisedMap(rng, Size(20, 15), 10);
    Mat bigMask = Mat::zeros(big.size(), CV_8U);
    rectangle(bigMask, Rect(4, 4, 9, 6), Scalar(255), FILLED);
    const Rect roi(2, 1, 13, 11);
    Mat map = big(roi), mask = bigMask(roi); // not continuous
    ASSERT_FALSE(map.isContinuous());
    std::vector<double> s;
    std::vector<int> l;
    flatten({map}, {mask}, s, l);
    EXPECT_NEAR(bruteAUROC(s, l), pixelAUROC(map, mask), 1e-12);
    EXPECT_NEAR(bruteAUROC(s, l), pixelAUROC(std::vector<Mat>{map}, std::vector<Mat>{mask}), 1e-12);
    Mat floatMask;
    mask.convertTo(floatMask, CV_32F, 1.0 / 255);
    EXPECT_NEAR(bruteAUROC(s, l), pixelAUROC(map, floatMask), 1e-12);
}

TEST(Patchcore_Metrics, pixelAUROC_manyPixelsMatchesHistogramCount)
{
    // 2.6 M pixels with integer scores: AUROC can then be counted exactly per score value in O(n).
    RNG rng(99);
    const int levels = 1000;
    std::vector<Mat> maps, masks;
    std::vector<double> posCount(levels, 0), negCount(levels, 0);
    for (int i = 0; i < 40; ++i)
    {
        Mat mask = Mat::zeros(256, 256, CV_8U);
        circle(mask, Point(rng.uniform(0, 256), rng.uniform(0, 256)), rng.uniform(5, 60), Scalar(255), FILLED);
        Mat map(mask.size(), CV_32F);
        for (int y = 0; y < map.rows; ++y)
            for (int x = 0; x < map.cols; ++x)
            {
                const bool on = mask.at<uchar>(y, x) != 0;
                const int v = std::min(levels - 1, rng.uniform(0, levels - 200) + (on ? 200 : 0));
                map.at<float>(y, x) = static_cast<float>(v);
                (on ? posCount : negCount)[v] += 1;
            }
        maps.push_back(map);
        masks.push_back(mask);
    }
    double wins = 0, below = 0, P = 0, N = 0;
    for (int v = 0; v < levels; ++v)
    {
        wins += posCount[v] * (below + negCount[v] / 2);
        below += negCount[v];
        P += posCount[v];
        N += negCount[v];
    }
    EXPECT_NEAR(wins / (P * N), pixelAUROC(maps, masks), 1e-12);
}

TEST(Patchcore_Metrics, PRO_diagonalPixelsFormOneRegion)
{
    // Mask pixels (0,0), (1,1), (1,2): one 8-connected region of 3 pixels (4-connectivity would give 2 regions).
    // Only (0,0) scores 1, everything else 0. Curve: (0,0) -> (0, 1/3) -> (1, 1). PRO at FPR 0.3 is
    // 1/3 + 0.3 * 2/3 = 0.5333, so AUPRO = (1/3 + 0.5333) / 2 = 1/3 + 0.1. With two regions it would be 0.575.
    Mat mask = Mat::zeros(4, 4, CV_8U);
    mask.at<uchar>(0, 0) = mask.at<uchar>(1, 1) = mask.at<uchar>(1, 2) = 1;
    Mat map = Mat::zeros(4, 4, CV_32F);
    map.at<float>(0, 0) = 1;
    EXPECT_NEAR(1.0 / 3.0 + 0.1, computePRO(map, mask), 1e-12);
}

TEST(Patchcore_Metrics, PRO_matchesPerThresholdRescan)
{
    for (int seed = 1; seed <= 8; ++seed)
    {
        RNG rng(seed);
        std::vector<Mat> maps, masks;
        regionTestSet(rng, seed % 2 ? 6 : 40, maps, masks);
        for (double maxFpr : {0.3, 0.05, 0.5, 1.0})
            EXPECT_NEAR(brutePRO(maps, masks, maxFpr), computePRO(maps, masks, maxFpr), 1e-9)
                << "seed " << seed << " maxFpr " << maxFpr;
    }
}

TEST(Patchcore_Metrics, PRO_largerImagesMatchRescan)
{
    RNG rng(2024);
    std::vector<Mat> maps, masks;
    for (int i = 0; i < 6; ++i)
    {
        Mat mask = Mat::zeros(64, 64, CV_8U);
        for (int k = 0; k < i % 3; ++k) // 0, 1 or 2 blobs per image
            circle(mask, Point(rng.uniform(5, 59), rng.uniform(5, 59)), rng.uniform(1, 12), Scalar(255), FILLED);
        Mat map = quantisedMap(rng, mask.size(), 16);
        map.setTo(Scalar(0.5), mask); // anomalous pixels lean high but tie with normal ones
        maps.push_back(map);
        masks.push_back(mask);
    }
    EXPECT_NEAR(brutePRO(maps, masks, 0.3), computePRO(maps, masks), 1e-9);
}

TEST(Patchcore_Metrics, PRO_perfectAndConstantMaps)
{
    std::vector<Mat> masks(3), perfect(3), constant(3);
    for (int i = 0; i < 3; ++i)
    {
        masks[i] = Mat::zeros(12, 12, CV_8U);
        if (i > 0)
            rectangle(masks[i], Rect(i, i, 3 * i, 2), Scalar(255), FILLED);
        masks[i].convertTo(perfect[i], CV_32F, 1.0 / 255);
        constant[i] = Mat(12, 12, CV_32F, Scalar(0.7));
    }
    EXPECT_NEAR(1.0, computePRO(perfect, masks), 1e-12);
    EXPECT_NEAR(1.0, computePRO(perfect, masks, 0.01), 1e-12);
    // A constant map predicts everything at once: the curve is the straight line (0,0) -> (1,1), whose normalised
    // area up to maxFpr is maxFpr / 2.
    EXPECT_NEAR(0.15, computePRO(constant, masks), 1e-12);
    EXPECT_NEAR(0.5, computePRO(constant, masks, 1.0), 1e-12);
    // A reversed perfect map reaches PRO > 0 only at FPR = 1.
    std::vector<Mat> reversed(3);
    for (int i = 0; i < 3; ++i)
        reversed[i] = 1 - perfect[i];
    EXPECT_NEAR(0.0, computePRO(reversed, masks), 1e-12);
}

TEST(Patchcore_Metrics, bestF1_handComputed)
{
    // Thresholds 0.9, 0.8, 0.7, 0.6, 0.2 give F1 = 2/4, 2/5, 4/6, 6/7, 6/8 (F1 = 2TP / (TP + FP + P), P = 3).
    F1Threshold r = bestF1Threshold({0.9, 0.8, 0.7, 0.6, 0.2}, {1, 0, 1, 1, 0});
    EXPECT_DOUBLE_EQ(0.6, r.threshold);
    EXPECT_NEAR(6.0 / 7.0, r.f1, 1e-15);
    EXPECT_NEAR(0.75, r.precision, 1e-15);
    EXPECT_NEAR(1.0, r.recall, 1e-15);
    // Thresholds 0.9 and 0.1 tie at F1 = 2/3: the larger wins.
    r = bestF1Threshold({0.9, 0.5, 0.4, 0.1}, {1, 0, 0, 1});
    EXPECT_DOUBLE_EQ(0.9, r.threshold);
    EXPECT_NEAR(2.0 / 3.0, r.f1, 1e-15);
    EXPECT_NEAR(1.0, r.precision, 1e-15);
    EXPECT_NEAR(0.5, r.recall, 1e-15);
    // Only anomalous samples: predicting all of them (threshold = lowest score) is perfect.
    r = bestF1Threshold({0.3, 0.2}, {1, 1});
    EXPECT_DOUBLE_EQ(0.2, r.threshold);
    EXPECT_DOUBLE_EQ(1.0, r.f1);
}

TEST(Patchcore_Metrics, bestF1_matchesBruteForce)
{
    RNG rng(555);
    for (int trial = 0; trial < 50; ++trial)
    {
        const int n = rng.uniform(1, 200);
        std::vector<double> s(n);
        std::vector<int> l(n);
        for (int i = 0; i < n; ++i)
        {
            s[i] = std::round(rng.uniform(0.0, 1.0) * 10) / 10;
            l[i] = rng.uniform(0.0, 1.0) < 0.3 ? 1 : 0;
        }
        l[0] = 1;
        const F1Threshold e = bruteF1(s, l), r = bestF1Threshold(s, l);
        EXPECT_EQ(e.threshold, r.threshold) << "trial " << trial;
        EXPECT_NEAR(e.f1, r.f1, 1e-12);
        EXPECT_NEAR(e.precision, r.precision, 1e-12);
        EXPECT_NEAR(e.recall, r.recall, 1e-12);
    }
}

TEST(Patchcore_Metrics, bestPixelF1_matchesFlattenedBruteForce)
{
    RNG rng(11);
    std::vector<Mat> maps, masks;
    regionTestSet(rng, 9, maps, masks);
    std::vector<double> s;
    std::vector<int> l;
    flatten(maps, masks, s, l);
    const F1Threshold e = bruteF1(s, l), r = bestPixelF1Threshold(maps, masks);
    EXPECT_EQ(e.threshold, r.threshold);
    EXPECT_NEAR(e.f1, r.f1, 1e-12);
    EXPECT_NEAR(e.precision, r.precision, 1e-12);
    EXPECT_NEAR(e.recall, r.recall, 1e-12);
}

TEST(Patchcore_Metrics, minMaxNormalize)
{
    const std::vector<double> r = minMaxNormalize({2, 4, 3, 6});
    ASSERT_EQ(4u, r.size());
    EXPECT_DOUBLE_EQ(0.0, r[0]);
    EXPECT_DOUBLE_EQ(0.5, r[1]);
    EXPECT_DOUBLE_EQ(0.25, r[2]);
    EXPECT_DOUBLE_EQ(1.0, r[3]);
    EXPECT_EQ(std::vector<double>(3, 0.0), minMaxNormalize({5, 5, 5}));
    EXPECT_TRUE(minMaxNormalize({}).empty());
    // Normalisation is monotone, so AUROC is unchanged.
    const std::vector<double> s = {0.3, -2, 7, 0.3, 1};
    const std::vector<int> l = {1, 0, 1, 0, 0};
    EXPECT_DOUBLE_EQ(imageAUROC(s, l), imageAUROC(minMaxNormalize(s), l));
}

TEST(Patchcore_Metrics, badImageInputThrows)
{
    const double nan = std::numeric_limits<double>::quiet_NaN();
    EXPECT_THROW(imageAUROC({0.1, 0.2}, {0, 1, 1}), cv::Exception);
    EXPECT_THROW(imageAUROC({}, {}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1, 0.2}, {1, 1}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1, 0.2}, {0, 0}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1, nan}, {0, 1}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1, 0.2}, {-1, 1}), cv::Exception);
    EXPECT_THROW(imageAUROC({0.1, 0.2}, {0, 2}), cv::Exception);
    EXPECT_THROW(bestF1Threshold({0.1, 0.2}, {0, 0}), cv::Exception);
    EXPECT_THROW(bestF1Threshold({nan, 0.2}, {1, 0}), cv::Exception);
    EXPECT_THROW(bestF1Threshold({0.2}, {1, 0}), cv::Exception);
    EXPECT_THROW(minMaxNormalize({0.1, nan}), cv::Exception);
    EXPECT_THROW(minMaxNormalize({0.1, std::numeric_limits<double>::infinity()}), cv::Exception);
}

TEST(Patchcore_Metrics, badPixelInputThrows)
{
    Mat map(8, 8, CV_32F, Scalar(0.5));
    Mat mask = Mat::zeros(8, 8, CV_8U);
    mask.at<uchar>(2, 3) = 255;
    const std::vector<Mat> maps = {map}, masks = {mask};
    ASSERT_NO_THROW(pixelAUROC(maps, masks));
    ASSERT_NO_THROW(computePRO(maps, masks));
    ASSERT_NO_THROW(bestPixelF1Threshold(maps, masks));

    const std::function<void(InputArrayOfArrays, InputArrayOfArrays)> metrics[] = {
        [](InputArrayOfArrays a, InputArrayOfArrays b) { pixelAUROC(a, b); },
        [](InputArrayOfArrays a, InputArrayOfArrays b) { computePRO(a, b); },
        [](InputArrayOfArrays a, InputArrayOfArrays b) { bestPixelF1Threshold(a, b); }};
    Mat nanMap = map.clone();
    nanMap.at<float>(4, 4) = std::numeric_limits<float>::quiet_NaN();
    Mat map64;
    map.convertTo(map64, CV_64F);
    Mat mask16;
    mask.convertTo(mask16, CV_16U);
    for (size_t k = 0; k < 3; ++k)
    {
        const auto& f = metrics[k];
        SCOPED_TRACE(k);
        EXPECT_THROW(f(std::vector<Mat>(), std::vector<Mat>()), cv::Exception);
        EXPECT_THROW(f(std::vector<Mat>{map, map}, masks), cv::Exception);
        EXPECT_THROW(f(maps, std::vector<Mat>{Mat::zeros(8, 9, CV_8U)}), cv::Exception);
        EXPECT_THROW(f(std::vector<Mat>{nanMap}, masks), cv::Exception);
        EXPECT_THROW(f(std::vector<Mat>{map64}, masks), cv::Exception);
        EXPECT_THROW(f(maps, std::vector<Mat>{mask16}), cv::Exception);
        EXPECT_THROW(f(std::vector<Mat>{Mat()}, std::vector<Mat>{Mat()}), cv::Exception);
        EXPECT_THROW(f(maps, std::vector<Mat>{Mat::zeros(8, 8, CV_8U)}), cv::Exception); // no anomalous pixels
    }
    // AUROC and PRO also need normal pixels.
    EXPECT_THROW(pixelAUROC(maps, std::vector<Mat>{Mat::ones(8, 8, CV_8U)}), cv::Exception);
    EXPECT_THROW(computePRO(maps, std::vector<Mat>{Mat::ones(8, 8, CV_8U)}), cv::Exception);
    // Float mask values of exactly 0.5 are normal (anomalous means > 0.5), so this mask has no region.
    Mat half = Mat::zeros(8, 8, CV_32F);
    half.at<float>(1, 1) = half.at<float>(5, 6) = 0.5f;
    EXPECT_THROW(computePRO(maps, std::vector<Mat>{half}), cv::Exception);
    EXPECT_THROW(computePRO(maps, masks, 0.0), cv::Exception);
    EXPECT_THROW(computePRO(maps, masks, 1.5), cv::Exception);
    EXPECT_THROW(computePRO(maps, masks, std::numeric_limits<double>::quiet_NaN()), cv::Exception);
}

} // namespace
} // namespace opencv_test
