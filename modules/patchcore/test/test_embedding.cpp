// Patch-feature stage against float64 brute force written from the spec's definitions.
#include "test_precomp.hpp"
#include "embedding.hpp"
#include "interpolation.hpp"

#include <cmath>

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

// A random tap blob N x C x h x w.
cv::Mat randomBlob(int n, int c, int h, int w, uint64 seed)
{
    cv::Mat blob(std::vector<int>{n, c, h, w}, CV_32F);
    cv::RNG rng(seed);
    rng.fill(blob, cv::RNG::UNIFORM, -2.0, 2.0);
    return blob;
}

double tapAt(const cv::Mat& blob, int n, int c, int y, int x)
{
    if (y < 0 || y >= blob.size[2] || x < 0 || x >= blob.size[3])
        return 0.0;
    const int idx[4] = {n, c, y, x};
    return blob.at<float>(idx);
}

// Adaptive average pooling straight from its definition, in double.
std::vector<double> poolReference(const std::vector<double>& v, int d)
{
    const double L = static_cast<double>(v.size());
    std::vector<double> out(d);
    for (int i = 0; i < d; ++i)
    {
        const int b = static_cast<int>(std::floor(i * L / d)), e = static_cast<int>(std::ceil((i + 1) * L / d));
        double s = 0;
        for (int j = b; j < e; ++j)
            s += v[j];
        out[i] = s / (e - b);
    }
    return out;
}

// The unfolded neighbourhood, channel-major (c, ky, kx), zero padded.
std::vector<double> neighbourhoodReference(const cv::Mat& blob, int n, int y, int x, int p)
{
    const int C = blob.size[1], r = p / 2;
    std::vector<double> v;
    for (int c = 0; c < C; ++c)
        for (int ky = 0; ky < p; ++ky)
            for (int kx = 0; kx < p; ++kx)
                v.push_back(tapAt(blob, n, c, y + ky - r, x + kx - r));
    return v;
}

// torch's align_corners=False bilinear source coordinate, in double.
void sourceCoord(int o, int in, int out, int& i0, int& i1, double& w1)
{
    double s = (o + 0.5) * in / out - 0.5;
    if (s < 0)
        s = 0;
    i0 = std::min(static_cast<int>(s), in - 1);
    i1 = std::min(i0 + 1, in - 1);
    w1 = s - i0;
}

TEST(Patchcore_Embedding, PoolingBinsFollowTorchDefinition)
{
    for (int L : {1, 5, 9, 100, 4608, 9216})
        for (int D : {1, 3, 7, 64, 1024, 2000})
        {
            const PoolingBins bins = adaptivePoolBins(L, D);
            for (int i = 0; i < D; ++i)
            {
                EXPECT_EQ(bins.begin[i], static_cast<int>(std::floor(static_cast<double>(i) * L / D))) << L << " " << D;
                EXPECT_EQ(bins.end[i], static_cast<int>(std::ceil(static_cast<double>(i + 1) * L / D))) << L << " " << D;
                EXPECT_LT(bins.begin[i], bins.end[i]);
            }
        }
}

TEST(Patchcore_Embedding, PoolRowsMatchesReferenceForShrinkAndGrow)
{
    cv::RNG rng(3);
    for (int D : {4, 10, 37})
    {
        cv::Mat rows(5, 17, CV_32F);
        rng.fill(rows, cv::RNG::UNIFORM, -1, 1);
        const cv::Mat pooled = adaptivePoolRows(rows, D);
        for (int r = 0; r < rows.rows; ++r)
        {
            std::vector<double> v(rows.ptr<float>(r), rows.ptr<float>(r) + rows.cols);
            const std::vector<double> ref = poolReference(v, D);
            for (int i = 0; i < D; ++i)
                EXPECT_NEAR(pooled.at<float>(r, i), ref[i], 1e-6);
        }
    }
}

TEST(Patchcore_Embedding, NeighbourhoodAggregationIncludingBorders)
{
    for (int p : {1, 3, 5})
    {
        const int C = 7, D = 11;
        const cv::Mat blob = randomBlob(2, C, 5, 6, 17 + p);
        const cv::Mat agg = aggregateNeighbourhoods(blob.ptr<float>(1), C, cv::Size(6, 5), p, D);
        ASSERT_EQ(agg.rows, 30);
        ASSERT_EQ(agg.cols, D);
        for (int y = 0; y < 5; ++y)
            for (int x = 0; x < 6; ++x)
            {
                const std::vector<double> ref = poolReference(neighbourhoodReference(blob, 1, y, x, p), D);
                for (int i = 0; i < D; ++i)
                    EXPECT_NEAR(agg.at<float>(y * 6 + x, i), ref[i], 1e-5) << "p=" << p << " y=" << y << " x=" << x;
            }
    }
}

// The channel-parallel paths (every bin within one channel: layer3's 1024 -> 1024, layer2's 512 x 9 -> 1024) must
// add in torch's order: float sums over the flattened (c, ky, kx) neighbourhood, bit for bit, like the general path.
TEST(Patchcore_Embedding, NeighbourhoodSumsInTorchOrderOnEveryPath)
{
    struct Case { int C, D, p; };
    for (const Case& k : {Case{8, 8, 3}, Case{8, 16, 3}, Case{6, 12, 5}, Case{4, 8, 1}, Case{7, 11, 3}, Case{5, 15, 3}})
    {
        const cv::Mat blob = randomBlob(1, k.C, 5, 6, 31 + k.D);
        const cv::Mat agg = aggregateNeighbourhoods(blob.ptr<float>(0), k.C, cv::Size(6, 5), k.p, k.D);
        const PoolingBins bins = adaptivePoolBins(k.C * k.p * k.p, k.D);
        for (int y = 0; y < 5; ++y)
            for (int x = 0; x < 6; ++x)
            {
                const std::vector<double> flat = neighbourhoodReference(blob, 0, y, x, k.p); // exact floats
                for (int i = 0; i < k.D; ++i)
                {
                    float sum = 0.f;
                    for (int l = bins.begin[i]; l < bins.end[i]; ++l)
                        sum += static_cast<float>(flat[l]);
                    ASSERT_EQ(sum / static_cast<float>(bins.end[i] - bins.begin[i]), agg.at<float>(y * 6 + x, i))
                        << "C=" << k.C << " D=" << k.D << " p=" << k.p << " y=" << y << " x=" << x << " bin " << i;
                }
            }
    }
}

TEST(Patchcore_Embedding, BilinearGridResizeMatchesDoubleReference)
{
    cv::RNG rng(5);
    for (cv::Size from : {cv::Size(4, 3), cv::Size(14, 14), cv::Size(13, 13)})
        for (cv::Size to : {cv::Size(8, 6), cv::Size(28, 28), cv::Size(27, 27), cv::Size(3, 2)})
        {
            cv::Mat grid(from.area(), 3, CV_32F);
            rng.fill(grid, cv::RNG::UNIFORM, -1, 1);
            const cv::Mat out = resizeGridBilinear(grid, from, to);
            for (int y = 0; y < to.height; ++y)
                for (int x = 0; x < to.width; ++x)
                {
                    int y0, y1, x0, x1;
                    double wy, wx;
                    sourceCoord(y, from.height, to.height, y0, y1, wy);
                    sourceCoord(x, from.width, to.width, x0, x1, wx);
                    for (int c = 0; c < 3; ++c)
                    {
                        auto g = [&](int yy, int xx) { return static_cast<double>(grid.at<float>(yy * from.width + xx, c)); };
                        const double ref = (1 - wy) * ((1 - wx) * g(y0, x0) + wx * g(y0, x1)) +
                                           wy * ((1 - wx) * g(y1, x0) + wx * g(y1, x1));
                        EXPECT_NEAR(out.at<float>(y * to.width + x, c), ref, 1e-5);
                    }
                }
        }
}

// The spec's closed form for taps of 512 and 1024 channels pooled to 1024/1024: layer2 half = zero-padded 3x3 average
// with centre weight 1/5 and 1/10 elsewhere; layer3 half = uniform 3x3 mean, then mean of channel pairs, upsampled.
TEST(Patchcore_Embedding, ClosedFormFor512And1024Channels)
{
    const cv::Mat l2 = randomBlob(1, 512, 8, 8, 101);
    const cv::Mat l3 = randomBlob(1, 1024, 4, 4, 202);
    const cv::Mat emb = embedPatches({l2, l3}, 0, 3, 1024, 1024);
    ASSERT_EQ(emb.rows, 64);
    ASSERT_EQ(emb.cols, 1024);
    double maxErr = 0;
    for (int y = 0; y < 8; ++y)
        for (int x = 0; x < 8; ++x)
        {
            for (int c = 0; c < 512; ++c)
            {
                double s = 0;
                for (int dy = -1; dy <= 1; ++dy)
                    for (int dx = -1; dx <= 1; ++dx)
                        s += tapAt(l2, 0, c, y + dy, x + dx) * (dy == 0 && dx == 0 ? 0.2 : 0.1);
                maxErr = std::max(maxErr, std::abs(s - emb.at<float>(y * 8 + x, c)));
            }
            int y0, y1, x0, x1;
            double wy, wx;
            sourceCoord(y, 4, 8, y0, y1, wy);
            sourceCoord(x, 4, 8, x0, x1, wx);
            for (int c = 0; c < 512; ++c)
            {
                auto pairMean = [&](int yy, int xx) {
                    double s = 0;
                    for (int ch = 2 * c; ch <= 2 * c + 1; ++ch)
                        for (int dy = -1; dy <= 1; ++dy)
                            for (int dx = -1; dx <= 1; ++dx)
                                s += tapAt(l3, 0, ch, yy + dy, xx + dx);
                    return s / 18.0;
                };
                const double ref = (1 - wy) * ((1 - wx) * pairMean(y0, x0) + wx * pairMean(y0, x1)) +
                                   wy * ((1 - wx) * pairMean(y1, x0) + wx * pairMean(y1, x1));
                maxErr = std::max(maxErr, std::abs(ref - emb.at<float>(y * 8 + x, 512 + c)));
            }
        }
    EXPECT_LT(maxErr, 1e-5);
}

// General dimensions: the whole embedding against a brute force that unfolds, pools, interpolates, concatenates and
// pools again, in the reference implementation's order (interpolation of the unfolded planes before pooling).
TEST(Patchcore_Embedding, GeneralDimensionsMatchBruteForce)
{
    const cv::Mat t1 = randomBlob(2, 6, 5, 7, 11);
    const cv::Mat t2 = randomBlob(2, 10, 3, 4, 12);
    const int pre = 13, target = 9;
    const cv::Mat emb = embedPatches({t1, t2}, 1, 3, pre, target);
    ASSERT_EQ(emb.rows, 35);
    ASSERT_EQ(emb.cols, target);
    for (int y = 0; y < 5; ++y)
        for (int x = 0; x < 7; ++x)
        {
            std::vector<double> first = poolReference(neighbourhoodReference(t1, 1, y, x, 3), pre);
            int y0, y1, x0, x1;
            double wy, wx;
            sourceCoord(y, 3, 5, y0, y1, wy);
            sourceCoord(x, 4, 7, x0, x1, wx);
            const std::vector<double> a = neighbourhoodReference(t2, 1, y0, x0, 3), b = neighbourhoodReference(t2, 1, y0, x1, 3),
                                      c = neighbourhoodReference(t2, 1, y1, x0, 3), d = neighbourhoodReference(t2, 1, y1, x1, 3);
            std::vector<double> unfolded(a.size());
            for (size_t j = 0; j < a.size(); ++j)
                unfolded[j] = (1 - wy) * ((1 - wx) * a[j] + wx * b[j]) + wy * ((1 - wx) * c[j] + wx * d[j]);
            const std::vector<double> second = poolReference(unfolded, pre);
            first.insert(first.end(), second.begin(), second.end());
            const std::vector<double> ref = poolReference(first, target);
            for (int i = 0; i < target; ++i)
                EXPECT_NEAR(emb.at<float>(y * 7 + x, i), ref[i], 1e-5) << y << "," << x << "," << i;
        }
}

} // namespace
} // namespace opencv_test
