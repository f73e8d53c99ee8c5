// patchcore.Ensemble: several detectors whose normalised scores are averaged (cv::patchcore::Ensemble).
#include "bindings.hpp"
#include "errors.hpp"
#include "guard.hpp"
#include "ndarray.hpp"
#include "shared_methods.hpp"

#include <opencv2/patchcore/ensemble.hpp>
#include <pybind11/stl.h>

namespace patchcore_python {

using cv::patchcore::Ensemble;
using EnsembleHandle = Handle<Ensemble>;

namespace {

int memberIndex(const EnsembleHandle& h, int index)
{
    const int count = h.object->getMemberCount();
    if (index < -count || index >= count)
        throw py::index_error("member index " + std::to_string(index) + " is out of range: the ensemble has " +
                              std::to_string(count) + " member" + (count == 1 ? "" : "s"));
    return index < 0 ? index + count : index;
}

} // namespace

void bindEnsemble(py::module_& m)
{
    py::class_<EnsembleHandle> cls(m, "Ensemble", R"doc(Several detectors whose normalised scores are averaged.

Each member is normalised by the mean and standard deviation of its anomaly-map pixels on held-out good images, so
scores read "standard deviations of a good pixel above a typical good pixel". train() also calibrates thresholds.
Threading as for Detector.)doc");
    const GuardedCalls<Ensemble> calls{"Ensemble"};
    SharedMethods<Ensemble> shared(cls, calls);
    cls.def_static(
        "create", [](double holdout) { return EnsembleHandle{std::shared_ptr<Ensemble>(Ensemble::create(holdout))}; },
        py::arg("holdout_fraction") = 0.2,
        "Creates an empty ensemble; holdout_fraction of the training images (at least one) normalises the members.");
    cls.def_static(
        "load",
        [](py::handle filename) {
            const std::string file = pathFromPython(filename, "filename");
            return EnsembleHandle{withoutGil([&] { return std::shared_ptr<Ensemble>(Ensemble::load(file)); })};
        },
        py::arg("filename"), "Loads an ensemble written by save().");
    // The module-level load() of what Detector.save() or Ensemble.save() wrote (cv::patchcore::Inspector::load).
    m.def(
        "load",
        [](py::handle filename) -> py::object {
            const std::string file = pathFromPython(filename, "filename");
            const cv::Ptr<cv::patchcore::Inspector> any =
                withoutGil([&] { return cv::patchcore::Inspector::load(file); });
            if (cv::Ptr<Ensemble> ens = any.dynamicCast<Ensemble>())
                return py::cast(EnsembleHandle{std::shared_ptr<Ensemble>(ens)});
            return py::cast(Handle<cv::patchcore::Detector>{
                std::shared_ptr<cv::patchcore::Detector>(any.dynamicCast<cv::patchcore::Detector>())});
        },
        py::arg("filename"), "Loads a saved Detector or Ensemble, whichever the file holds.");
    cls.def(
        "add_member",
        [](EnsembleHandle& h, const cv::patchcore::Params& params) {
            validateParams(params);
            auto scope = h.guard->exclusive("Ensemble", "add_member");
            withoutGil([&] { h.object->addMember(params); });
        },
        py::arg("params"), "Adds an untrained member with its own Params (before train(), or after clear()).");
    shared.imagesCall("train", "Trains every member on the same good images (at least two) and normalises them.",
                      [](Ensemble& e, const std::vector<cv::Mat>& images) { e.train(images); });
    cls.def(
        "predict",
        [calls](const EnsembleHandle& h, py::handle image, bool returnMap) -> py::object {
            cv::Mat map;
            const double score = calls.onImage(h, image, "predict", false, [&](Ensemble& e, const cv::Mat& mat) {
                return returnMap ? e.predict(mat, map) : e.predict(mat);
            });
            if (!returnMap)
                return py::float_(score);
            return py::make_tuple(score, matToPython(map));
        },
        py::arg("image"), py::arg("return_map") = true,
        "(score, float32 map in the image's size): means of the members' normalised scores and maps; with "
        "return_map=False only the score.");
    cls.def(
        "predict_members",
        [calls](const EnsembleHandle& h, py::handle image) {
            std::vector<double> members;
            const auto predict = [&](Ensemble& e, const cv::Mat& mat) { return e.predictMembers(mat, members); };
            const double score = calls.onImage(h, image, "predict_members", false, predict);
            return py::make_tuple(score, py::cast(members));
        },
        py::arg("image"), "(score, [each member's normalised score]), in member order.");
    shared.calibrate("Sets the thresholds from good images the members have not seen.");
    shared.thresholds("Threshold on the ensemble score (NaN before calibration).",
                      "Threshold on the ensemble map (NaN before calibration).");
    shared.setThresholds("Sets both thresholds, in predict()'s units.");
    shared.detect(
        "(is_defective, score, uint8 mask with 255 = defect); with return_mask=False, (is_defective, score).");
    shared.save("Saves the whole ensemble into one binary file ('.pce' suggested), atomically.");
    cls.def_property_readonly("member_count", [](const EnsembleHandle& h) { return h.object->getMemberCount(); },
                              "Number of members.");
    cls.def("__len__", [](const EnsembleHandle& h) { return h.object->getMemberCount(); });
    cls.def(
        "member",
        [](const EnsembleHandle& h, int index) {
            return Handle<cv::patchcore::Detector>{std::shared_ptr<cv::patchcore::Detector>(
                h.object->getMember(memberIndex(h, index)))};
        },
        py::arg("index"),
        "Member `index` as a Detector, shared with the ensemble (not a copy): do not train it while the ensemble is "
        "in use.");
    cls.def(
        "normalization",
        [](const EnsembleHandle& h, int index) {
            double mean = 0, stdev = 0;
            h.object->getNormalization(memberIndex(h, index), mean, stdev);
            return py::make_tuple(mean, stdev);
        },
        py::arg("index"), "(mean, stdev) of member `index`'s held-out good map pixels.");
    cls.def_property_readonly("holdout_fraction", [](const EnsembleHandle& h) { return h.object->getHoldoutFraction(); },
                              "The held-out fraction given to create().");
    cls.def("empty", [](const EnsembleHandle& h) { return h.object->empty(); },
            "True before training (or without members).");
    shared.clear("Forgets every member's bank and normalisation; members and their Params stay.");
    cls.def("__repr__", [](const EnsembleHandle& h) {
        return "<patchcore.Ensemble " + std::to_string(h.object->getMemberCount()) + " members, " +
               (h.object->empty() ? "untrained>" : "trained>");
    });
}

} // namespace patchcore_python
