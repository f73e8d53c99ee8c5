// patchcore.Detector: cv::patchcore::Detector with numpy images, the GIL released during every long call.
#include "bindings.hpp"
#include "errors.hpp"
#include "guard.hpp"
#include "ndarray.hpp"
#include "progress.hpp"
#include "shared_methods.hpp"

#include <pybind11/stl.h>

namespace patchcore_python {

using cv::patchcore::Detector;
using DetectorHandle = Handle<Detector>;

namespace {

// An empty bank would make the C++ call throw too, but only after the image was pre-processed; and the message
// can name the Python methods.
void requireTrained(const DetectorHandle& h, const char* method)
{
    if (h.object->empty())
        throw cv::Exception(cv::Error::StsError,
                            std::string("patchcore: Detector.") + method +
                                "() needs a trained detector: call train() or train_files() first, or Detector.load()",
                            method, __FILE__, __LINE__);
}

} // namespace

void bindDetector(py::module_& m)
{
    py::class_<DetectorHandle> cls(m, "Detector", R"doc(PatchCore anomaly detector (cv::patchcore::Detector).

Create with Detector.create(params) or Detector.load(path). Images are numpy arrays as cv2.imread returns them:
H x W (gray), H x W x 3 (BGR) or H x W x 4 (BGRA), dtype uint8, uint16 or float32, any size. Maps come back as
float32 arrays of the image's own size.

Threading: predict-like calls (predict, predict_batch, detect, compute_*, to_working_frame, save, the getters) run
without the GIL and may be made from several Python threads at once on one trained detector, with the same results
as alone (so may predict_masked and detect_regions). A call that modifies the detector (train, train_files, update,
calibrate, set_*, clear, clear_care_mask) must run alone:
overlapping it with another call on the same detector raises patchcore.Error instead of corrupting it.)doc");
    const GuardedCalls<Detector> calls{"Detector", &requireTrained};
    SharedMethods<Detector> shared(cls, calls);

    cls.def_static(
        "create",
        [](const cv::patchcore::Params& params) {
            validateParams(params);
            return DetectorHandle{withoutGil([&] { return std::shared_ptr<Detector>(Detector::create(params)); })};
        },
        py::arg("params") = cv::patchcore::Params(),
        "Creates an untrained detector; raises BadArgument for invalid params, Error if the backbone cannot be loaded.");
    cls.def_static(
        "load",
        [](py::handle filename, py::handle modelPath) {
            const std::string file = pathFromPython(filename, "filename");
            const std::string model = modelPath.is_none() ? std::string() : pathFromPython(modelPath, "model_path");
            return DetectorHandle{withoutGil([&] { return std::shared_ptr<Detector>(Detector::load(file, model)); })};
        },
        py::arg("filename"), py::arg("model_path") = py::none(),
        "Loads a detector written by save() (.pcb binary or .yml/.yml.gz/.xml/.json FileStorage). model_path, when "
        "given, replaces the saved backbone path of a file without an embedded model (its SHA-256 is still checked).");

    shared.imagesCall("train",
                      "Builds the memory bank from a list of images of good parts, replacing any previous training.",
                      [](Detector& d, const std::vector<cv::Mat>& images) { d.train(images); });
    cls.def(
        "train_files",
        [](DetectorHandle& h, py::handle files) {
            const std::vector<cv::String> paths = pathsFromPython(files, "files");
            auto scope = h.guard->exclusive("Detector", "train_files");
            withoutGil([&] { h.object->trainFiles(paths); });
        },
        py::arg("files"),
        "Builds the memory bank from image files, decoded a batch at a time (same detector as train() on "
        "cv2.imread(f, cv2.IMREAD_UNCHANGED) of each). An unreadable file raises Error naming it.");
    shared.imagesCall("update",
                      "Adds good images to a trained detector; greedy selection continues from the current bank.",
                      [](Detector& d, const std::vector<cv::Mat>& images) { d.update(images); });
    shared.calibrate(
        "Chooses the image and pixel thresholds from good images not in the bank, at these false-alarm rates.");

    cls.def(
        "predict",
        [calls](const DetectorHandle& h, py::handle image, bool returnMap, int frame) -> py::object {
            cv::Mat map;
            const double score = calls.onImage(h, image, "predict", true, [&](Detector& d, const cv::Mat& mat) {
                if (!returnMap)
                    return d.predict(mat);
                return frame == cv::patchcore::FRAME_IMAGE ? d.predict(mat, map) : d.predictMap(mat, map, frame);
            });
            if (!returnMap)
                return py::float_(score);
            return py::make_tuple(score, matToPython(map));
        },
        py::arg("image"), py::arg("return_map") = true, py::arg("frame") = static_cast<int>(cv::patchcore::FRAME_IMAGE),
        R"doc(Scores one image.

Returns (score, anomaly_map): the image anomaly score (float) and a float32 map, in the image's own size with
frame=FRAME_IMAGE, or in the pre-processed frame the backbone saw with FRAME_WORKING. With return_map=False, only the
score.)doc");
    cls.def(
        "predict_batch",
        [](const DetectorHandle& h, py::handle images, bool returnMaps) -> py::object {
            const std::vector<MatView> views = imagesFromPython(images, "images");
            auto scope = h.guard->shared("Detector", "predict_batch");
            requireTrained(h, "predict_batch");
            std::vector<double> scores;
            std::vector<cv::Mat> maps;
            withoutGil([&] {
                if (returnMaps)
                    h.object->predictBatch(toMats(views), scores, maps);
                else
                    h.object->predictBatch(toMats(views), scores);
            });
            if (!returnMaps)
                return py::cast(scores);
            py::list out;
            for (cv::Mat& map : maps)
                out.append(matToPython(map));
            return py::make_tuple(py::cast(scores), out);
        },
        py::arg("images"), py::arg("return_maps") = true,
        "Scores a list of images, batching pre-processing: (list of scores, list of float32 maps), the same values as "
        "predict() on each; with return_maps=False only the scores.");
    shared.detect(
        "Decides with the calibrated thresholds: (is_defective, score, mask), mask a uint8 array of the image's size, "
        "255 where the map exceeds the pixel threshold; with return_mask=False, (is_defective, score). Raises Error "
        "when the detector has no thresholds (calibrate(), set_thresholds(), or Params.calibration_fraction).");
    bindDetectorRegions(cls, calls);
    shared.arrayCall("compute_patch_scores", "Patch scores on the feature grid (e.g. 28 x 28 at crop 224), float32.",
                     true, [](Detector& d, const cv::Mat& image, cv::Mat& out) { d.computePatchScores(image, out); });
    // No trained check: the embedding and the frame come from the backbone and pre-processing alone.
    shared.arrayCall("compute_embedding",
                     "Patch vectors of one image, one float32 row per grid position (row = y * grid_width + x).", false,
                     [](Detector& d, const cv::Mat& image, cv::Mat& out) { d.computeEmbedding(image, out); });
    shared.arrayCall(
        "to_working_frame",
        "The detector's resize and crop applied to a single-channel image such as a ground-truth mask: float32 in "
        "FRAME_WORKING, scaled to [0, 1] (uint8 / 255, uint16 / 65535).",
        false, [](Detector& d, const cv::Mat& image, cv::Mat& out) { d.toWorkingFrame(image, out); });

    shared.save("Saves atomically: '.pcb' is the compact binary format, anything else FileStorage (YAML/XML/JSON, "
                "optionally '.gz').");
    shared.setThresholds("Sets both decision thresholds by hand.");
    shared.thresholds("Image-score threshold (NaN until calibrated or set).",
                      "Anomaly-map threshold of detect()'s mask (NaN until calibrated or set).");
    cls.def(
        "set_max_image_mb",
        [](DetectorHandle& h, double mb) {
            auto scope = h.guard->exclusive("Detector", "set_max_image_mb");
            h.object->setMaxImageMB(mb);
        },
        py::arg("max_image_mb"), "Largest memory one image may take, MiB (0: what the process may use); also after load().");
    cls.def(
        "set_run_settings",
        [](DetectorHandle& h, const cv::patchcore::Params& run) {
            auto scope = h.guard->exclusive("Detector", "set_run_settings");
            withoutGil([&] { h.object->setRunSettings(run); });
        },
        py::arg("run"),
        "Takes how this process runs the detector from run's backend, target, coreset_device, search_device, "
        "batch_size, memory_budget_mb and max_image_mb (never saved; a loaded detector starts with the defaults).");
    cls.def(
        "set_backbone_engine",
        [](DetectorHandle& h, int engine) {
            auto scope = h.guard->exclusive("Detector", "set_backbone_engine");
            withoutGil([&] { h.object->setBackboneEngine(engine); });
        },
        py::arg("engine"), "Chooses what runs the backbone, an ENGINE_* constant (not saved with the detector).");
    cls.def_property_readonly("backbone_engine", [](const DetectorHandle& h) { return h.object->getBackboneEngine(); },
                              "What runs the backbone now, in words.");
    cls.def(
        "set_progress_callback",
        [](DetectorHandle& h, py::object fn) {
            if (!fn.is_none() && !PyCallable_Check(fn.ptr()))
                throw py::type_error("the progress callback must be callable (or None to remove it), got " +
                                     typeName(fn));
            auto scope = h.guard->exclusive("Detector", "set_progress_callback");
            h.object->setProgressCallback(fn.is_none() ? cv::patchcore::ProgressCallback()
                                                       : progressFromPython(py::reinterpret_borrow<py::function>(fn)));
        },
        py::arg("callback"),
        R"doc(Sets fn(progress: Progress) called during long operations, with the GIL held, from the thread running the
operation (so a callback shared by concurrent predict_batch calls must be thread-safe). Return False to cancel: the
call raises patchcore.Cancelled and the detector stays as it was; an exception raised by the callback cancels too
and is re-raised as it is. None (or any true value) continues. set_progress_callback(None) removes it.)doc");

    cls.def_property_readonly("params", [](const DetectorHandle& h) { return h.object->getParams(); },
                              "A copy of the detector's Params (after training, input_mode holds INPUT_AUTO's choice).");
    cls.def_property_readonly("memory_bank_size", [](const DetectorHandle& h) { return h.object->getMemoryBankSize(); },
                              "Number of vectors in the memory bank (0 before training).");
    cls.def(
        "memory_bank",
        [](const DetectorHandle& h) {
            auto scope = h.guard->shared("Detector", "memory_bank");
            return matToPython(h.object->getMemoryBank());
        },
        "A copy of the memory bank, one float32 row per vector.");
    cls.def_property_readonly(
        "feature_grid_size",
        [](const DetectorHandle& h) {
            requireTrained(h, "feature_grid_size");
            const cv::Size s = h.object->getFeatureGridSize();
            return py::make_tuple(s.width, s.height);
        },
        "(width, height) of the patch-score grid, as cv::Size; needs a trained detector.");
    cls.def("empty", [](const DetectorHandle& h) { return h.object->empty(); }, "True before training.");
    shared.clear("Forgets the memory bank; the parameters and the backbone stay.");
    cls.def("__repr__", [](const DetectorHandle& h) {
        return h.object->empty() ? std::string("<patchcore.Detector untrained>")
                                 : "<patchcore.Detector trained, memory bank " +
                                       std::to_string(h.object->getMemoryBankSize()) + " vectors>";
    });
}

} // namespace patchcore_python
