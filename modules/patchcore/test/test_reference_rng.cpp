// The authors' random draws against values printed by torch 1.13 and numpy 1.24 themselves (Debian 12's
// python3-torch / python3-numpy): each expected value below is the output of the Python line quoted with it.
#include "test_precomp.hpp"
#include "coreset.hpp"
#include "reference_rng.hpp"

namespace opencv_test {
namespace {

using namespace cv::patchcore::detail;

// torch's weight is outDim x inDim, draws in row-major order; ours is its transpose.
float torchWeight(const cv::Mat& projection, int o, int i)
{
    return projection.at<float>(i, o);
}

TEST(Patchcore_ReferenceRng, LinearProjectionMatchesTorch)
{
    // torch.manual_seed(0); torch.nn.Linear(1024, 128, bias=False).weight.flatten()[[0, 1, 2, 131071]]
    const cv::Mat w = torchLinearProjection(1024, 128, 0, 0);
    ASSERT_EQ(w.size(), cv::Size(128, 1024));
    EXPECT_EQ(torchWeight(w, 0, 0), -0x1.eaa8p-13f);
    EXPECT_EQ(torchWeight(w, 0, 1), 0x1.12a8bcp-6f);
    EXPECT_EQ(torchWeight(w, 0, 2), -0x1.a5662cp-6f);
    EXPECT_EQ(torchWeight(w, 127, 1023), 0x1.7890bcp-6f);
    // kaiming_uniform_(a = sqrt(5)) on 1024 inputs: bound 1/32.
    double lo, hi;
    cv::minMaxLoc(w, &lo, &hi);
    EXPECT_GE(lo, -1.0 / 32);
    EXPECT_LT(hi, 1.0 / 32);
}

TEST(Patchcore_ReferenceRng, DrawsBeforeShiftTheStream)
{
    // torch.manual_seed(0); torch.empty(8512706).uniform_(); torch.nn.Linear(1024, 128, bias=False).weight
    const cv::Mat w = torchLinearProjection(1024, 128, 0, 8512706);
    EXPECT_EQ(torchWeight(w, 0, 0), -0x1.cbede0p-9f);
    EXPECT_EQ(torchWeight(w, 0, 1), -0x1.85f558p-6f);
    EXPECT_EQ(torchWeight(w, 127, 1023), -0x1.eafcfcp-6f);
}

TEST(Patchcore_ReferenceRng, OtherSeedsAndShapes)
{
    // torch.manual_seed(12345); torch.empty(3).uniform_(); torch.nn.Linear(7, 2, bias=False).weight.flatten()
    const float expected[14] = {-0x1.e22ffcp-6f, -0x1.429edcp-2f, -0x1.f1d5a0p-3f, -0x1.9a7844p-4f, 0x1.a2ecf6p-5f,
                                -0x1.f6d0dap-4f, -0x1.bdf29cp-3f, -0x1.f64b1ap-6f, 0x1.e8364ap-3f, 0x1.41cb82p-2f,
                                -0x1.7e2ebap-3f, -0x1.bbcbb4p-3f, -0x1.1d4222p-6f, 0x1.54bea2p-3f};
    const cv::Mat w = torchLinearProjection(7, 2, 12345, 3);
    for (int o = 0; o < 2; ++o)
        for (int i = 0; i < 7; ++i)
            EXPECT_EQ(torchWeight(w, o, i), expected[o * 7 + i]) << "weight[" << o << "][" << i << "]";
    // torch.manual_seed(0); torch.nn.Linear(1, 1, bias=False).weight: the first draw, bound 1/sqrt(3) * sqrt(3) = 1.
    EXPECT_EQ(torchLinearProjection(1, 1, 0, 0).at<float>(0, 0), -0x1.eaa8p-8f);
}

TEST(Patchcore_ReferenceRng, StartPointsMatchNumpy)
{
    // np.random.seed(s); np.random.choice(n, c, replace=False).tolist()
    EXPECT_EQ(numpyChoiceWithoutReplacement(21952, 10, 0),
              std::vector<int>({8328, 19812, 21577, 17045, 15718, 6831, 2639, 9687, 19655, 7185}));
    EXPECT_EQ(numpyChoiceWithoutReplacement(235200, 10, 0),
              std::vector<int>({112700, 150566, 22986, 190766, 16406, 232867, 79448, 60867, 168015, 232254}));
    EXPECT_EQ(numpyChoiceWithoutReplacement(5, 5, 5), std::vector<int>({4, 0, 1, 2, 3}));
    EXPECT_EQ(numpyChoiceWithoutReplacement(1, 1, 1), std::vector<int>({0}));
    EXPECT_EQ(numpyChoiceWithoutReplacement(10, 3, 2), std::vector<int>({4, 1, 5}));
}

TEST(Patchcore_ReferenceRng, ParamsChooseTheGenerator)
{
    cv::patchcore::Params p;
    p.projectionDim = 128;
    p.seed = 0;
    const cv::Mat opencvProjection = coresetProjection(1024, p);
    p.coresetRandom = cv::patchcore::RANDOM_REFERENCE;
    p.referenceDrawsBefore = 8512706;
    const cv::Mat referenceProjection = coresetProjection(1024, p);
    EXPECT_EQ(cv::norm(referenceProjection, torchLinearProjection(1024, 128, 0, 8512706), cv::NORM_INF), 0);
    EXPECT_GT(cv::norm(referenceProjection, opencvProjection, cv::NORM_INF), 0);
    EXPECT_EQ(coresetStarts(21952, p), numpyChoiceWithoutReplacement(21952, 10, 0));
    p.numStarts = 50;
    EXPECT_EQ(coresetStarts(20, p).size(), 20u) << "at most n start points, as np.clip(numStarts, None, n)";
    p.projectionDim = 1024;
    EXPECT_TRUE(coresetProjection(1024, p).empty()) << "no projection when it would not reduce the dimension";

    p.projectionDim = 128;
    p.seed = -1;
    EXPECT_THROW(p.validate(), cv::Exception) << "numpy seeds are >= 0";
    p.seed = 0;
    p.referenceDrawsBefore = -5;
    EXPECT_THROW(p.validate(), cv::Exception);
    p.referenceDrawsBefore = 0;
    p.coresetRandom = 7;
    EXPECT_THROW(p.validate(), cv::Exception);
}

TEST(Patchcore_ReferenceRng, ParamsRoundTrip)
{
    cv::patchcore::Params p;
    p.coresetRandom = cv::patchcore::RANDOM_REFERENCE;
    p.referenceDrawsBefore = 8512706;
    cv::FileStorage out("params.yml", cv::FileStorage::WRITE | cv::FileStorage::MEMORY);
    out << "params" << "{";
    p.write(out);
    out << "}";
    const std::string text = out.releaseAndGetString();
    cv::FileStorage in(text, cv::FileStorage::READ | cv::FileStorage::MEMORY);
    cv::patchcore::Params q;
    q.read(in["params"]);
    EXPECT_EQ(q.coresetRandom, cv::patchcore::RANDOM_REFERENCE);
    EXPECT_EQ(q.referenceDrawsBefore, 8512706);
}

} // namespace
} // namespace opencv_test
