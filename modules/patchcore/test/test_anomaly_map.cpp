// Anomaly-map stage: Gaussian smoothing with reflect borders against a float64 brute force.
#include "test_precomp.hpp"
#include "anomaly_map.hpp"

#include <cmath>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

// scipy.ndimage "reflect" mode: (d c b a | a b c d | d c b a).
int reflect(int i, int n)
{
    const int period = 2 * n;
    i %= period;
    if (i < 0)
        i += period;
    return i < n ? i : period - 1 - i;
}

cv::Mat gaussianReference(const cv::Mat& src, double sigma)
{
    const int r = static_cast<int>(4 * sigma + 0.5);
    std::vector<double> w(2 * r + 1);
    double sum = 0;
    for (int i = -r; i <= r; ++i)
        sum += (w[i + r] = std::exp(-0.5 * i * i / (sigma * sigma)));
    for (double& v : w)
        v /= sum;
    cv::Mat tmp(src.size(), CV_64F), out(src.size(), CV_64F);
    for (int y = 0; y < src.rows; ++y)
        for (int x = 0; x < src.cols; ++x)
        {
            double s = 0;
            for (int i = -r; i <= r; ++i)
                s += w[i + r] * src.at<float>(reflect(y + i, src.rows), x);
            tmp.at<double>(y, x) = s;
        }
    for (int y = 0; y < src.rows; ++y)
        for (int x = 0; x < src.cols; ++x)
        {
            double s = 0;
            for (int i = -r; i <= r; ++i)
                s += w[i + r] * tmp.at<double>(y, reflect(x + i, src.cols));
            out.at<double>(y, x) = s;
        }
    return out;
}

TEST(Patchcore_AnomalyMap, GaussianMatchesScipyDefinitionWithReflectBorders)
{
    cv::RNG rng(9);
    for (double sigma : {4.0, 1.5, 0.7})
        for (cv::Size size : {cv::Size(40, 30), cv::Size(224, 224), cv::Size(9, 12)})
        {
            cv::Mat src(size, CV_32F);
            rng.fill(src, cv::RNG::UNIFORM, 0, 10);
            const cv::Mat got = gaussianSmooth(src, sigma);
            cv::Mat got64;
            got.convertTo(got64, CV_64F);
            EXPECT_LT(cv::norm(got64, gaussianReference(src, sigma), cv::NORM_INF), 1e-4)
                << "sigma " << sigma << " size " << size;
        }
}

TEST(Patchcore_AnomalyMap, ReflectIsNotReflect101)
{
    // A spike on the border: with "reflect" the border pixel is its own mirror, so it keeps more mass than with
    // OpenCV's default BORDER_REFLECT_101.
    cv::Mat src = cv::Mat::zeros(1, 20, CV_32F);
    src.at<float>(0, 0) = 1;
    const cv::Mat got = gaussianSmooth(cv::repeat(src, 20, 1), 2.0);
    const cv::Mat ref = gaussianReference(cv::repeat(src, 20, 1), 2.0);
    EXPECT_NEAR(got.at<float>(10, 0), ref.at<double>(10, 0), 1e-6);
    cv::Mat other;
    cv::GaussianBlur(cv::repeat(src, 20, 1), other, cv::Size(17, 17), 2.0, 2.0, cv::BORDER_REFLECT_101);
    EXPECT_GT(std::abs(other.at<float>(10, 0) - got.at<float>(10, 0)), 1e-3);
}

TEST(Patchcore_AnomalyMap, ConstantScoresGiveConstantMap)
{
    cv::Mat scores(28, 28, CV_32F, cv::Scalar(2.5));
    const cv::Mat map = computeAnomalyMap(scores, cv::Size(224, 224), 4);
    ASSERT_EQ(map.size(), cv::Size(224, 224));
    double lo, hi;
    cv::minMaxLoc(map, &lo, &hi);
    EXPECT_NEAR(lo, 2.5, 1e-5);
    EXPECT_NEAR(hi, 2.5, 1e-5);
}

TEST(Patchcore_AnomalyMap, PeakStaysWherePatchIs)
{
    cv::Mat scores = cv::Mat::zeros(28, 28, CV_32F);
    scores.at<float>(5, 20) = 10;
    const cv::Mat map = computeAnomalyMap(scores, cv::Size(224, 224), 4);
    cv::Point peak;
    cv::minMaxLoc(map, nullptr, nullptr, nullptr, &peak);
    // Patch (y 5, x 20) covers crop pixels [40, 48) x [160, 168).
    EXPECT_NEAR(peak.x, 163.5, 1.0);
    EXPECT_NEAR(peak.y, 43.5, 1.0);
}

} // namespace
} // namespace opencv_test
