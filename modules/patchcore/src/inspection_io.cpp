// Saved form of what decides on the line: the care mask (run-length coded: masks are a few large areas, and the
// header of a .pcb file is text), per-label thresholds and false-alarm targets, and the decision rule.
#include "detector_impl.hpp"

#include <cmath>

namespace cv {
namespace patchcore {
namespace detail {

namespace {

[[noreturn]] void bad(const std::string& what)
{
    PATCHCORE_ERROR(Error::StsParseError, "invalid detector file: " + what);
}

// label, value, label, value, ... for the labels whose entry is set (not NaN).
void writeLabelled(FileStorage& fs, const char* name, const std::vector<double>& values)
{
    std::vector<double> pairs;
    for (size_t label = 1; label < values.size(); ++label)
        if (!std::isnan(values[label]))
            pairs.insert(pairs.end(), {static_cast<double>(label), values[label]});
    if (!pairs.empty())
        fs << name << pairs;
}

std::vector<double> readLabelled(const FileNode& node, const char* name, bool rates)
{
    std::vector<double> out(256, std::numeric_limits<double>::quiet_NaN());
    const FileNode n = node[name];
    if (n.empty())
        return out;
    if (!n.isSeq() || n.size() % 2 != 0)
        bad(std::string(name) + " must be a list of label, value pairs");
    for (size_t i = 0; i < n.size(); i += 2)
    {
        for (size_t j = i; j < i + 2; ++j)
            if (!n[static_cast<int>(j)].isReal() && !n[static_cast<int>(j)].isInt())
                bad(std::string(name) + " holds an entry that is not a number");
        const double label = static_cast<double>(n[static_cast<int>(i)]);
        const double value = static_cast<double>(n[static_cast<int>(i + 1)]);
        if (!(label >= 1 && label <= 255) || label != std::floor(label))
            bad(std::string(name) + " holds a label outside 1..255");
        if (!std::isfinite(value) || (rates && !(value > 0 && value < 1)))
            bad(std::string(name) + " holds a value that is not " + (rates ? "a rate in (0, 1)" : "finite"));
        out[static_cast<int>(label)] = value;
    }
    return out;
}

int readInt(const FileNode& node, const char* name, int fallback)
{
    const FileNode n = node[name];
    if (n.empty())
        return fallback;
    if (!n.isInt())
        bad(std::string("decision_rule.") + name + " must be a whole number");
    return static_cast<int>(n);
}

} // namespace

void writeInspection(FileStorage& fs, const DetectorState& state)
{
    if (!state.care.empty())
    {
        fs << "care_mask" << "{";
        fs << "width" << state.care.labels.cols << "height" << state.care.labels.rows;
        fs << "scales" << static_cast<int>(state.care.scales);
        fs << "runs" << encodeRuns(state.care.labels);
        fs << "}";
    }
    writeLabelled(fs, "label_thresholds", state.labelThresholds);
    writeLabelled(fs, "label_false_alarm_rates", state.labelFalseAlarmRates);
    fs << "decision_rule" << "{";
    fs << "min_region_area" << state.rule.minRegionArea << "max_regions" << state.rule.maxRegions;
    fs << "regions_decide" << static_cast<int>(state.rule.regionsDecide);
    fs << "}";
}

void readInspection(const FileNode& node, DetectorState& state)
{
    const FileNode care = node["care_mask"];
    if (!care.empty())
    {
        if (!care.isMap() || !care["width"].isInt() || !care["height"].isInt() || !care["runs"].isSeq())
            bad("care_mask needs width, height (whole numbers) and runs (a list)");
        std::vector<int> runs;
        for (const FileNode& v : care["runs"])
        {
            if (!v.isInt())
                bad("care_mask.runs holds a value that is not a whole number");
            runs.push_back(static_cast<int>(v));
        }
        state.care.labels = decodeRuns(runs, Size(static_cast<int>(care["width"]), static_cast<int>(care["height"])));
        state.care.scales = !care["scales"].empty() && static_cast<int>(care["scales"]) != 0;
    }
    state.labelThresholds = readLabelled(node, "label_thresholds", false);
    state.labelFalseAlarmRates = readLabelled(node, "label_false_alarm_rates", true);
    const FileNode rule = node["decision_rule"];
    if (!rule.empty())
    {
        if (!rule.isMap())
            bad("decision_rule must be a map");
        state.rule.minRegionArea = readInt(rule, "min_region_area", state.rule.minRegionArea);
        state.rule.maxRegions = readInt(rule, "max_regions", state.rule.maxRegions);
        state.rule.regionsDecide = readInt(rule, "regions_decide", 0) != 0;
        try
        {
            state.rule.validate();
        }
        catch (const cv::Exception& e)
        {
            bad(e.err);
        }
    }
}

} // namespace detail
} // namespace patchcore
} // namespace cv
