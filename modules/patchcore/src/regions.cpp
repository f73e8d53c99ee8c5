#include "regions.hpp"
#include "care_mask.hpp"

#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

namespace cv {
namespace patchcore {

void DecisionRule::validate() const
{
    if (minRegionArea < 1)
        PATCHCORE_ERROR(Error::StsOutOfRange,
                        "DecisionRule::minRegionArea must be at least 1 pixel, got " + std::to_string(minRegionArea));
    if (maxRegions < 0)
        PATCHCORE_ERROR(Error::StsOutOfRange, "DecisionRule::maxRegions must be >= 0 (0 = report every region), "
                                              "got " +
                                                  std::to_string(maxRegions));
}

namespace detail {

double thresholdOf(int label, double global, const std::vector<double>& labelThresholds)
{
    if (label >= 0 && label < static_cast<int>(labelThresholds.size()) && !std::isnan(labelThresholds[label]))
        return labelThresholds[label];
    return global;
}

Mat defectPixels(const Mat& map, const Mat& care, double global, const std::vector<double>& labelThresholds)
{
    CV_Assert(map.type() == CV_32FC1);
    if (care.empty())
        return map > global;
    CV_Assert(care.size() == map.size() && care.type() == CV_8UC1);
    // Each pixel's threshold looked up from its label; label 0 (don't care) never exceeds +inf.
    Mat lut(1, 256, CV_32F), threshold;
    lut.at<float>(0) = std::numeric_limits<float>::infinity();
    for (int label = 1; label < 256; ++label)
        lut.at<float>(label) = static_cast<float>(thresholdOf(label, global, labelThresholds));
    LUT(care, lut, threshold);
    return map > threshold;
}

std::vector<Region> findRegions(const Mat& map, const Mat& defect, const Mat& care, const DecisionRule& rule)
{
    CV_Assert(map.type() == CV_32FC1 && defect.type() == CV_8UC1 && defect.size() == map.size());
    Mat components, stats, centroids;
    const int n = connectedComponentsWithStats(defect, components, stats, centroids, 8, CV_32S);
    // Peak and sum per component in one pass over the image (component 0 is the background).
    std::vector<double> peak(n, -INFINITY), sum(n, 0.0);
    std::vector<Point> peakAt(n);
    for (int y = 0; y < map.rows; ++y)
    {
        const int* c = components.ptr<int>(y);
        const float* m = map.ptr<float>(y);
        for (int x = 0; x < map.cols; ++x)
        {
            const int id = c[x];
            if (id == 0)
                continue;
            sum[id] += m[x];
            if (m[x] > peak[id])
            {
                peak[id] = m[x];
                peakAt[id] = Point(x, y);
            }
        }
    }
    std::vector<Region> regions;
    for (int id = 1; id < n; ++id)
    {
        const int area = stats.at<int>(id, CC_STAT_AREA);
        if (area < rule.minRegionArea)
            continue;
        Region r;
        r.area = area;
        r.box = Rect(stats.at<int>(id, CC_STAT_LEFT), stats.at<int>(id, CC_STAT_TOP), stats.at<int>(id, CC_STAT_WIDTH),
                     stats.at<int>(id, CC_STAT_HEIGHT));
        r.centroid = Point2d(centroids.at<double>(id, 0), centroids.at<double>(id, 1));
        r.peakScore = peak[id];
        r.meanScore = sum[id] / area;
        r.label = care.empty() ? kDefaultCareLabel : care.at<uchar>(peakAt[id]);
        regions.push_back(r);
    }
    std::stable_sort(regions.begin(), regions.end(), [](const Region& a, const Region& b) {
        if (a.peakScore != b.peakScore)
            return a.peakScore > b.peakScore;
        return a.box.y != b.box.y ? a.box.y < b.box.y : a.box.x < b.box.x;
    });
    if (rule.maxRegions > 0 && static_cast<int>(regions.size()) > rule.maxRegions)
        regions.resize(rule.maxRegions);
    return regions;
}

} // namespace detail
} // namespace patchcore
} // namespace cv
