// Inspection on the line (opencv2/patchcore/regions.hpp): patchcore.Region, patchcore.DecisionRule, and the
// Detector's care mask, per-label thresholds, decision rule, predict_masked and detect_regions.
#include "bindings.hpp"
#include "errors.hpp"
#include "ndarray.hpp"
#include "shared_methods.hpp"
#include "values.hpp"

#include <pybind11/stl.h>

#include <string>

namespace patchcore_python {

using cv::patchcore::DecisionRule;
using cv::patchcore::Detector;
using cv::patchcore::Region;
using DetectorHandle = Handle<Detector>;

namespace {

py::tuple boxOf(const Region& r)
{
    return py::make_tuple(r.box.x, r.box.y, r.box.width, r.box.height);
}

py::tuple centroidOf(const Region& r)
{
    return py::make_tuple(r.centroid.x, r.centroid.y);
}

// Exactly `n` numbers from a sequence, for the tuple fields of Region.
std::vector<py::handle> items(py::handle v, size_t n, const std::string& what, const char* form)
{
    std::vector<py::handle> out;
    if (py::isinstance<py::sequence>(v) && !py::isinstance<py::str>(v))
        for (py::handle item : py::reinterpret_borrow<py::sequence>(v))
            out.push_back(item);
    if (out.size() != n)
        throw py::type_error(what + " takes " + form + ", got " + typeName(v));
    return out;
}

std::string regionRepr(const Region& r)
{
    return "patchcore.Region(label=" + std::to_string(r.label) + ", area=" + std::to_string(r.area) +
           ", box=" + std::string(py::repr(boxOf(r))) + ", centroid=" + std::string(py::repr(centroidOf(r))) +
           ", peak_score=" + std::string(py::repr(py::float_(r.peakScore))) +
           ", mean_score=" + std::string(py::repr(py::float_(r.meanScore))) + ")";
}

bool sameRegion(const Region& a, const Region& b)
{
    return a.label == b.label && a.area == b.area && a.box == b.box && a.centroid == b.centroid &&
           a.peakScore == b.peakScore && a.meanScore == b.meanScore;
}

DecisionRule makeRule(py::handle minArea, py::handle maxRegions, py::handle regionsDecide)
{
    DecisionRule rule;
    rule.minRegionArea = intFromPython(minArea, "DecisionRule.min_region_area");
    rule.maxRegions = intFromPython(maxRegions, "DecisionRule.max_regions");
    rule.regionsDecide = boolFromPython(regionsDecide, "DecisionRule.regions_decide");
    return rule;
}

py::tuple ruleState(const DecisionRule& r)
{
    return py::make_tuple(r.minRegionArea, r.maxRegions, r.regionsDecide);
}

/** `call(detector, image, careMask)` without the GIL, under the shared guard of a trained detector, after both
 *  arrays are converted (an empty Mat for a care mask that is None and not required). */
template <class F>
auto onImageAndMask(const GuardedCalls<Detector>& calls, const DetectorHandle& h, py::handle image, py::handle mask,
                    bool maskRequired, const char* method, F&& call)
{
    const MatView view = imageFromPython(image, "image");
    MatView care;
    if (maskRequired || !mask.is_none())
        care = careMaskFromPython(mask, "care_mask");
    auto scope = h.guard->shared("Detector", method);
    if (calls.requireTrained)
        calls.requireTrained(h, method);
    return withoutGil([&] { return call(*h.object, view.mat, care.mat); });
}

} // namespace

void bindRegionTypes(py::module_& m)
{
    py::class_<Region> region(m, "Region", R"doc(One defect region (cv::patchcore::Region), from Detector.detect_regions().

An 8-connected component of the anomaly-map pixels above the pixel threshold of their care label, in the image's
coordinates: label (the care-mask value at its peak; 255 without a care mask), area (pixels), box (x, y, width,
height), centroid (x, y), peak_score and mean_score (of the map over the region).)doc");
    region.def(py::init<>(), "An empty region (every field 0).");
    region.def_readwrite("label", &Region::label, "Care-mask label at the region's peak (255 without a care mask).");
    region.def_readwrite("area", &Region::area, "Number of pixels.");
    region.def_property(
        "box", &boxOf,
        [](Region& r, py::handle v) {
            const std::vector<py::handle> xywh = items(v, 4, "Region.box", "(x, y, width, height)");
            r.box = cv::Rect(intFromPython(xywh[0], "Region.box"), intFromPython(xywh[1], "Region.box"),
                             intFromPython(xywh[2], "Region.box"), intFromPython(xywh[3], "Region.box"));
        },
        "Bounding box, (x, y, width, height) in pixels, as cv::Rect.");
    region.def_property(
        "centroid", &centroidOf,
        [](Region& r, py::handle v) {
            const std::vector<py::handle> xy = items(v, 2, "Region.centroid", "(x, y)");
            r.centroid = cv::Point2d(numberFromPython(xy[0], "Region.centroid"),
                                     numberFromPython(xy[1], "Region.centroid"));
        },
        "Centre of mass of the region's pixels (unweighted), (x, y).");
    region.def_readwrite("peak_score", &Region::peakScore, "Largest anomaly-map value inside the region.");
    region.def_readwrite("mean_score", &Region::meanScore, "Mean anomaly-map value over the region.");
    region.def("__repr__", &regionRepr);
    region.def("__eq__", [](const Region& a, py::object other) -> py::object {
        if (!py::isinstance<Region>(other))
            return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        return py::bool_(sameRegion(a, other.cast<const Region&>()));
    });
    region.attr("__hash__") = py::none();

    py::class_<DecisionRule> rule(m, "DecisionRule", R"doc(How a detector decides and lists regions (cv::patchcore::DecisionRule).

Saved with the detector; read it with Detector.decision_rule, change it with Detector.set_decision_rule(rule).
Regions of fewer than min_region_area pixels are dropped; at most max_regions are listed, highest peak first (0: all);
with regions_decide, an image is also rejected when it has a region, not only when its score exceeds the image
threshold. Types are checked on assignment (TypeError), values by validate() and set_decision_rule()
(patchcore.BadArgument).)doc");
    rule.def(py::init(&makeRule), py::arg("min_region_area") = 1, py::arg("max_regions") = 0,
             py::arg("regions_decide") = false, "DecisionRule(min_region_area=1, max_regions=0, regions_decide=False)");
    rule.def_property(
        "min_region_area", [](const DecisionRule& r) { return r.minRegionArea; },
        [](DecisionRule& r, py::handle v) { r.minRegionArea = intFromPython(v, "DecisionRule.min_region_area"); },
        "Regions of fewer pixels are dropped (default 1: every region).");
    rule.def_property(
        "max_regions", [](const DecisionRule& r) { return r.maxRegions; },
        [](DecisionRule& r, py::handle v) { r.maxRegions = intFromPython(v, "DecisionRule.max_regions"); },
        "At most this many regions are listed, the highest peak first (default 0: all).");
    rule.def_property(
        "regions_decide", [](const DecisionRule& r) { return r.regionsDecide; },
        [](DecisionRule& r, py::handle v) { r.regionsDecide = boolFromPython(v, "DecisionRule.regions_decide"); },
        "Also reject an image that has a listed region (default False: the image score alone decides).");
    rule.def("validate", &DecisionRule::validate,
             "Raises patchcore.BadArgument naming the first invalid field; returns None otherwise.");
    rule.def("__repr__", [](const DecisionRule& r) {
        return "patchcore.DecisionRule(min_region_area=" + std::to_string(r.minRegionArea) +
               ", max_regions=" + std::to_string(r.maxRegions) +
               ", regions_decide=" + (r.regionsDecide ? "True" : "False") + ")";
    });
    rule.def("__eq__", [](const DecisionRule& a, py::object other) -> py::object {
        if (!py::isinstance<DecisionRule>(other))
            return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        return py::bool_(ruleState(a).equal(ruleState(other.cast<const DecisionRule&>())));
    });
    rule.attr("__hash__") = py::none();
    rule.def(py::pickle(&ruleState, [](const py::tuple& t) {
        if (t.size() != 3)
            throw py::value_error("DecisionRule: a pickled state has 3 fields");
        return makeRule(t[0], t[1], t[2]);
    }));
    rule.def("__copy__", [](const DecisionRule& r) { return r; });
    rule.def("__deepcopy__", [](const DecisionRule& r, py::dict) { return r; });
}

void bindDetectorRegions(py::class_<DetectorHandle>& cls, const GuardedCalls<Detector>& calls)
{
    cls.def(
        "set_care_mask",
        [](DetectorHandle& h, py::handle mask, bool scaleToImage) {
            const MatView view = careMaskFromPython(mask, "mask");
            auto scope = h.guard->exclusive("Detector", "set_care_mask");
            withoutGil([&] { h.object->setCareMask(view.mat, scaleToImage); });
        },
        py::arg("mask"), py::arg("scale_to_image") = false,
        R"doc(Restricts inspection to the care area of mask, an H x W uint8 array in the images' frame: 0 = don't care,
any other value = the label of a care region (0/255 for one region; 1, 2, ... for regions with their own pixel
thresholds). Patches centred where it is 0 never enter the memory bank and never score; the map is 0 there. Saved
with the detector. With scale_to_image=False every image must have the mask's size; with True the mask is scaled
(nearest neighbour) to each image. Set it before train(); on a trained detector it changes scoring only (calibrate
again). An all-zero mask raises patchcore.BadArgument.)doc");
    cls.def(
        "clear_care_mask",
        [](DetectorHandle& h) {
            auto scope = h.guard->exclusive("Detector", "clear_care_mask");
            h.object->clearCareMask();
        },
        "Removes the care mask, the per-label thresholds and the per-label false-alarm targets.");
    cls.def(
        "get_care_mask",
        [](const DetectorHandle& h) -> py::object {
            auto scope = h.guard->shared("Detector", "get_care_mask");
            const cv::Mat mask = h.object->getCareMask();
            if (mask.empty())
                return py::none();
            return matToPython(mask.clone()); // a copy: writing to it must not change the detector
        },
        "A copy of the care mask (uint8 array), or None when none is set.");
    cls.def_property_readonly("care_mask_scales", [](const DetectorHandle& h) { return h.object->getCareMaskScales(); },
                              "Whether the care mask is scaled to each image (set_care_mask's scale_to_image).");
    cls.def(
        "set_label_false_alarm_rate",
        [](DetectorHandle& h, int label, double rate) {
            auto scope = h.guard->exclusive("Detector", "set_label_false_alarm_rate");
            h.object->setLabelFalseAlarmRate(label, rate);
        },
        py::arg("label"), py::arg("rate"),
        "Pixel false-alarm target of one care-mask label (1..255), rate in (0, 1): calibrate() (and training with "
        "Params.calibration_fraction) then gives that label its own pixel threshold at this rate instead of "
        "pixel_false_alarm_rate.");
    cls.def(
        "get_label_threshold",
        [](const DetectorHandle& h, int label) {
            auto scope = h.guard->shared("Detector", "get_label_threshold");
            return h.object->getLabelThreshold(label);
        },
        py::arg("label"),
        "Pixel threshold of the care region label (1..255): what calibration or set_label_threshold() set for it, "
        "else pixel_threshold.");
    cls.def(
        "set_label_threshold",
        [](DetectorHandle& h, int label, double threshold) {
            auto scope = h.guard->exclusive("Detector", "set_label_threshold");
            h.object->setLabelThreshold(label, threshold);
        },
        py::arg("label"), py::arg("threshold"), "Sets the pixel threshold of one care-mask label (1..255) by hand.");
    cls.def(
        "set_decision_rule",
        [](DetectorHandle& h, const DecisionRule& rule) {
            auto scope = h.guard->exclusive("Detector", "set_decision_rule");
            h.object->setDecisionRule(rule);
        },
        py::arg("rule"), "Sets how decisions and regions are made (a DecisionRule; saved with the detector).");
    cls.def_property_readonly("decision_rule", [](const DetectorHandle& h) { return h.object->getDecisionRule(); },
                              "A copy of the detector's DecisionRule (change it with set_decision_rule()).");
    cls.def(
        "predict_masked",
        [calls](const DetectorHandle& h, py::handle image, py::handle careMask, bool returnMap) -> py::object {
            cv::Mat map;
            const double score = onImageAndMask(
                calls, h, image, careMask, true, "predict_masked", [&](Detector& d, const cv::Mat& img, const cv::Mat& care) {
                    return returnMap ? d.predictMasked(img, care, map) : d.predictMasked(img, care);
                });
            if (!returnMap)
                return py::float_(score);
            return py::make_tuple(score, matToPython(map));
        },
        py::arg("image"), py::arg("care_mask"), py::arg("return_map") = true,
        "predict() with the don't-care areas of this one image: care_mask (uint8, the image's size, 0 = don't care) "
        "is combined with the detector's care mask. Returns (score, anomaly_map), or the score with "
        "return_map=False.");
    cls.def(
        "detect_regions",
        [calls](const DetectorHandle& h, py::handle image, py::handle careMask) {
            std::vector<Region> regions;
            double score = 0;
            cv::Mat map;
            const bool decision = onImageAndMask(
                calls, h, image, careMask, false, "detect_regions", [&](Detector& d, const cv::Mat& img, const cv::Mat& care) {
                    return d.detectRegions(img, regions, score, care, map); // an empty care: none
                });
            return py::make_tuple(decision, score, py::cast(regions), matToPython(map));
        },
        py::arg("image"), py::arg("care_mask") = py::none(),
        R"doc(Decides and lists the defect regions of one image, from one backbone pass.

Returns (is_defective, score, regions, anomaly_map): regions is a list of Region, the connected components of the
map pixels above their care label's pixel threshold, of at least decision_rule.min_region_area pixels, highest peak
first, at most decision_rule.max_regions. is_defective is True when the score exceeds image_threshold or, with
decision_rule.regions_decide, when a region is listed. care_mask: as in predict_masked() (optional). Raises Error
when the detector has no thresholds.)doc");
}

} // namespace patchcore_python
