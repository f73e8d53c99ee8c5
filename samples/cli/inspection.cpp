#include "inspection.hpp"
#include "common.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

namespace patchcore_samples {

const char* const kCareMaskOptions =
    "{care-mask       |       | care mask image, the training images' size: 0 = don't care (never learnt, never "
    "scored), any other value = the label of a care region (0/255 for one; 1, 2, ... for regions with their own "
    "thresholds, see --label-far); 8-bit, one channel (e.g. a grey PNG); saved with the detector }"
    "{care-mask-scale | false | scale the care mask to each image (nearest neighbour) instead of requiring images of "
    "its size }";

const char* const kCalibrationOptions =
    "{calibrate | 0     | hold out this fraction of the good images to calibrate the decision thresholds (saved "
    "with the detector; `patchcore predict` then decides and lists defect regions) }"
    "{far       | 0.01  | target image false-alarm rate of the calibration }"
    "{pixel-far | 0.001 | target pixel false-alarm rate of the calibration (the defect-mask threshold) }"
    "{label-far |       | per care-mask label pixel false-alarm targets, label:rate pairs (e.g. 1:0.01,2:0.0001); "
    "other labels take --pixel-far }";

const char* const kDecisionRuleOptions =
    "{min-region-area |  | defect regions of fewer pixels are dropped (detector default: 1) }"
    "{max-regions     |  | report at most this many regions, highest peak first (0: all; detector default: 0) }"
    "{regions-decide  |  | also reject an image that has a region of at least --min-region-area pixels, not only "
    "one whose score exceeds the image threshold (true or false; detector default: false) }";

namespace {

std::string depthText(int depth)
{
    switch (depth)
    {
    case CV_8S: return "8-bit signed";
    case CV_16U: return "16-bit";
    case CV_16S: return "16-bit signed";
    case CV_32S: return "32-bit integer";
    case CV_32F: return "32-bit float";
    case CV_64F: return "64-bit float";
    default: return "depth " + std::to_string(depth);
    }
}

const char* const kMaskFormat = "an 8-bit single-channel (grey) image: 0 = don't care, 1..255 = care labels";

int intOption(const cv::CommandLineParser& parser, const std::string& name)
{
    const std::string text = parser.get<std::string>(name);
    size_t used = 0;
    long value = 0;
    try
    {
        value = std::stol(text, &used);
    }
    catch (const std::exception&)
    {
        used = 0;
    }
    if (used == 0 || used != text.size() || value < 0 || value > std::numeric_limits<int>::max())
        CV_Error(cv::Error::StsBadArg, "--" + name + " takes a whole number >= 0, not '" + text + "'");
    return static_cast<int>(value);
}

bool boolOption(const cv::CommandLineParser& parser, const std::string& name)
{
    const std::string text = parser.get<std::string>(name);
    if (text == "true" || text == "1" || text == "yes" || text == "on")
        return true;
    if (text == "false" || text == "0" || text == "no" || text == "off")
        return false;
    CV_Error(cv::Error::StsBadArg, "--" + name + " takes true or false, not '" + text + "'");
}

// The labels 1..255 that occur in a label image, ascending.
std::vector<int> labelsIn(const cv::Mat& labels)
{
    bool seen[256] = {};
    for (int y = 0; y < labels.rows; ++y)
    {
        const uchar* row = labels.ptr<uchar>(y);
        for (int x = 0; x < labels.cols; ++x)
            seen[row[x]] = true;
    }
    std::vector<int> out;
    for (int l = 1; l < 256; ++l)
        if (seen[l])
            out.push_back(l);
    return out;
}

std::string number(double v)
{
    std::ostringstream s;
    s << std::setprecision(9) << v;
    return s.str();
}

std::string jsonString(const std::string& text)
{
    std::string out = "\"";
    for (const char c : text)
    {
        if (c == '"' || c == '\\')
            out += std::string("\\") + c;
        else if (static_cast<unsigned char>(c) < 0x20)
            out += cv::format("\\u%04x", static_cast<unsigned char>(c));
        else
            out += c;
    }
    return out + "\"";
}

// RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled.
std::string csvField(const std::string& text)
{
    if (text.find_first_of(",\"\n\r") == std::string::npos)
        return text;
    std::string out = "\"";
    for (const char c : text)
        out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

} // namespace

cv::Mat readCareMask(const std::string& path)
{
    if (!cv::utils::fs::exists(path))
        CV_Error(cv::Error::StsObjectNotFound, "care mask '" + path + "' does not exist (--care-mask takes " +
                                                   kMaskFormat + ")");
    if (cv::utils::fs::isDirectory(path))
        CV_Error(cv::Error::StsBadArg, "care mask '" + path + "' is a folder, not an image file");
    cv::Mat mask = cv::imread(path, cv::IMREAD_UNCHANGED);
    if (mask.empty())
        CV_Error(cv::Error::StsError, "cannot read care mask '" + path + "': not an image OpenCV can decode "
                                      "(--care-mask takes " + kMaskFormat + ", e.g. a PNG)");
    if (mask.depth() != CV_8U)
        CV_Error(cv::Error::StsBadArg, "care mask '" + path + "' is " + depthText(mask.depth()) + "; save it as " +
                                           kMaskFormat);
    if (mask.channels() == 3 || mask.channels() == 4)
    {
        // Paint programs often save a grey drawing as RGB(A): accept it when the colour channels agree.
        std::vector<cv::Mat> planes;
        cv::split(mask, planes);
        if (cv::countNonZero(planes[0] != planes[1]) || cv::countNonZero(planes[0] != planes[2]))
            CV_Error(cv::Error::StsBadArg, "care mask '" + path + "' has colours (its " +
                                               std::to_string(mask.channels()) + " channels differ); save it as " +
                                               kMaskFormat);
        mask = planes[0];
    }
    else if (mask.channels() != 1)
        CV_Error(cv::Error::StsBadArg, "care mask '" + path + "' has " + std::to_string(mask.channels()) +
                                           " channels; save it as " + kMaskFormat);
    if (cv::countNonZero(mask) == 0)
        CV_Error(cv::Error::StsBadArg, "care mask '" + path + "' is 0 everywhere: it would leave nothing to inspect "
                                       "(non-zero pixels are the ones inspected)");
    return mask;
}

CareOptions careOptionsFrom(const cv::CommandLineParser& parser)
{
    CareOptions care;
    const std::string path = parser.get<std::string>("care-mask");
    care.scale = parser.get<bool>("care-mask-scale");
    if (!path.empty())
        care.mask = readCareMask(path);
    else if (care.scale)
        CV_Error(cv::Error::StsBadArg, "--care-mask-scale needs a --care-mask");
    for (const cv::String& item : splitList(parser.get<std::string>("label-far")))
    {
        const size_t colon = item.find(':');
        size_t labelEnd = 0, rateEnd = 0;
        int label = 0;
        double rate = 0;
        try
        {
            label = std::stoi(item.substr(0, colon), &labelEnd);
            rate = std::stod(item.substr(colon + 1), &rateEnd);
        }
        catch (const std::exception&)
        {
            labelEnd = 0;
        }
        if (colon == std::string::npos || labelEnd == 0 || labelEnd != colon || rateEnd != item.size() - colon - 1)
            CV_Error(cv::Error::StsBadArg, "--label-far takes label:rate pairs separated by commas (e.g. "
                                           "1:0.01,2:0.0001), not '" + item + "'");
        if (label < 1 || label > 255 || !(rate > 0 && rate < 1))
            CV_Error(cv::Error::StsOutOfRange, "--label-far " + item + ": labels are 1..255 (0 is don't care) and "
                                               "rates in (0, 1)");
        care.labelRates.emplace_back(label, rate);
    }
    return care;
}

void applyCareOptions(const CareOptions& care, cv::patchcore::Detector& det)
{
    if (!care.mask.empty())
        det.setCareMask(care.mask, care.scale);
    for (const auto& labelRate : care.labelRates)
        det.setLabelFalseAlarmRate(labelRate.first, labelRate.second);
}

void applyCalibrationOptions(const cv::CommandLineParser& parser, cv::patchcore::Params& params)
{
    params.calibrationFraction = parser.get<double>("calibrate");
    params.imageFalseAlarmRate = parser.get<double>("far");
    params.pixelFalseAlarmRate = parser.get<double>("pixel-far");
}

bool hasDecisionRuleOptions(const cv::CommandLineParser& parser)
{
    // An option with an empty default "has" a value only when it was given.
    return parser.has("min-region-area") || parser.has("max-regions") || parser.has("regions-decide");
}

cv::patchcore::DecisionRule decisionRuleFrom(const cv::CommandLineParser& parser, cv::patchcore::DecisionRule rule)
{
    if (parser.has("min-region-area"))
    {
        rule.minRegionArea = intOption(parser, "min-region-area");
        if (rule.minRegionArea < 1)
            CV_Error(cv::Error::StsBadArg, "--min-region-area must be at least 1 pixel, not 0");
    }
    if (parser.has("max-regions"))
        rule.maxRegions = intOption(parser, "max-regions");
    if (parser.has("regions-decide"))
        rule.regionsDecide = boolOption(parser, "regions-decide");
    return rule;
}

std::string labelThresholdsText(const cv::patchcore::Detector& det)
{
    std::string out;
    for (int label : labelsIn(det.getCareMask()))
        out += (out.empty() ? "" : ", ") + std::string("label ") + std::to_string(label) + " " +
               number(det.getLabelThreshold(label));
    return out;
}

cv::Mat careMaskForFrame(const cv::patchcore::Detector& det, cv::Size size)
{
    const cv::Mat care = det.getCareMask();
    if (care.empty() || care.size() == size)
        return care;
    if (!det.getCareMaskScales())
        return cv::Mat();
    cv::Mat scaled;
    cv::resize(care, scaled, size, 0, 0, cv::INTER_NEAREST_EXACT); // as the detector scales it
    return scaled;
}

cv::Mat defectMaskOf(const cv::patchcore::Detector& det, const cv::Mat& map, const cv::Mat& care)
{
    if (care.empty())
        return map > det.getPixelThreshold();
    // Each pixel's threshold is its label's; don't-care pixels (label 0) are never defects.
    cv::Mat lut(1, 256, CV_32F), threshold;
    lut.at<float>(0) = std::numeric_limits<float>::infinity();
    for (int label = 1; label < 256; ++label)
        lut.at<float>(label) = static_cast<float>(det.getLabelThreshold(label));
    cv::LUT(care, lut, threshold);
    return map > threshold;
}

void drawCareArea(cv::Mat& overlayImage, const cv::Mat& care)
{
    if (care.empty() || care.size() != overlayImage.size())
        return;
    const cv::Mat outside = care == 0;
    if (cv::countNonZero(outside) == 0)
        return;
    // Darkened, with grey diagonal hatching: readable on every heat-map colour, and never the outline's white.
    cv::Mat shaded, hatch = cv::Mat::zeros(overlayImage.size(), CV_8U);
    overlayImage.convertTo(shaded, -1, 0.35);
    const int step = std::max(6, std::min(overlayImage.cols, overlayImage.rows) / 40);
    for (int x = -overlayImage.rows; x < overlayImage.cols; x += step)
        cv::line(hatch, cv::Point(x, 0), cv::Point(x + overlayImage.rows, overlayImage.rows), cv::Scalar(255), 1);
    shaded.setTo(cv::Scalar::all(150), hatch);
    shaded.copyTo(overlayImage, outside);
}

void drawRegions(cv::Mat& overlayImage, const std::vector<cv::patchcore::Region>& regions)
{
    const int side = std::min(overlayImage.cols, overlayImage.rows);
    const int thickness = std::max(1, side / 200);
    const double fontScale = std::max(0.35, side / 700.0);
    for (size_t i = 0; i < regions.size(); ++i)
    {
        const cv::Rect& box = regions[i].box;
        cv::rectangle(overlayImage, box, cv::Scalar(0, 0, 0), thickness + 2);
        cv::rectangle(overlayImage, box, cv::Scalar(255, 255, 255), thickness);
        // The id above the box, or inside it at the top of the image.
        const std::string id = std::to_string(i + 1);
        int baseline = 0;
        const cv::Size text = cv::getTextSize(id, cv::FONT_HERSHEY_SIMPLEX, fontScale, thickness, &baseline);
        const int y = box.y - thickness - 2 >= text.height ? box.y - thickness - 2 : box.y + text.height + thickness + 2;
        const cv::Point at(std::min(box.x, std::max(0, overlayImage.cols - text.width)), y);
        cv::putText(overlayImage, id, at, cv::FONT_HERSHEY_SIMPLEX, fontScale, cv::Scalar(0, 0, 0), thickness + 2,
                    cv::LINE_AA);
        cv::putText(overlayImage, id, at, cv::FONT_HERSHEY_SIMPLEX, fontScale, cv::Scalar(255, 255, 255), thickness,
                    cv::LINE_AA);
    }
}

RegionsWriter::RegionsWriter(const std::string& outDir)
    : csv_(outDir + "/regions.csv"), json_(outDir + "/regions.json")
{
    if (!csv_ || !json_)
        CV_Error(cv::Error::StsError, "cannot write " + outDir + "/regions.csv and regions.json");
    csv_ << "image,region,label,area,x,y,width,height,centroid_x,centroid_y,peak_score,mean_score,decision\n";
    json_ << "[";
}

RegionsWriter::~RegionsWriter()
{
    json_ << (first_ ? "]\n" : "\n]\n");
}

void RegionsWriter::add(const std::string& name, double score, bool decision,
                        const std::vector<cv::patchcore::Region>& regions)
{
    const char* const d = decision ? "1" : "0";
    json_ << (first_ ? "\n" : ",\n") << "  {\"name\": " << jsonString(name) << ", \"score\": " << number(score)
          << ", \"decision\": " << d << ", \"regions\": [";
    first_ = false;
    for (size_t i = 0; i < regions.size(); ++i)
    {
        const cv::patchcore::Region& r = regions[i];
        csv_ << csvField(name) << "," << i + 1 << "," << r.label << "," << r.area << "," << r.box.x << "," << r.box.y
             << "," << r.box.width << "," << r.box.height << "," << number(r.centroid.x) << ","
             << number(r.centroid.y) << "," << number(r.peakScore) << "," << number(r.meanScore) << "," << d << "\n";
        json_ << (i ? "," : "") << "\n    {\"region\": " << i + 1 << ", \"label\": " << r.label
              << ", \"area\": " << r.area << ", \"box\": [" << r.box.x << ", " << r.box.y << ", " << r.box.width
              << ", " << r.box.height << "], \"centroid\": [" << number(r.centroid.x) << ", " << number(r.centroid.y)
              << "], \"peak_score\": " << number(r.peakScore) << ", \"mean_score\": " << number(r.meanScore) << "}";
    }
    json_ << (regions.empty() ? "]}" : "\n  ]}");
    // A camera run ends with Ctrl-C: what was scored so far is on disk (regions.json then lacks its closing ']').
    csv_.flush();
    json_.flush();
}

} // namespace patchcore_samples
