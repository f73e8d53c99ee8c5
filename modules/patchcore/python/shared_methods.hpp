// The Python methods Detector and Ensemble have in common, defined once: the two classes promise the same argument
// names, defaults, GIL release and threading guard for them, and two copies would drift apart.
#ifndef PATCHCORE_PYTHON_SHARED_METHODS_HPP
#define PATCHCORE_PYTHON_SHARED_METHODS_HPP

#include "errors.hpp"
#include "guard.hpp"
#include "ndarray.hpp"

#include <pybind11/pybind11.h>

#include <string>
#include <vector>

namespace patchcore_python {

/** The order every const call on one image keeps, copied into the method lambdas. `type` is the Python class name,
 *  as the guard's messages spell it. `requireTrained`, when set, refuses an untrained object before the library
 *  pre-processes the image, with a message naming the Python method (Detector has one; Ensemble leaves the check to
 *  the library). */
template <class T>
struct GuardedCalls
{
    using Check = void (*)(const Handle<T>& h, const char* method);

    const char* type;
    Check requireTrained = nullptr;

    /** `call(object, image)` without the GIL, after converting the image (a bad one is refused before the guard is
     *  taken) and under the shared guard. */
    template <class F>
    auto onImage(const Handle<T>& h, py::handle image, const char* method, bool needsTraining, F&& call) const
    {
        const MatView view = imageFromPython(image, "image");
        auto scope = h.guard->shared(type, method);
        if (needsTraining && requireTrained)
            requireTrained(h, method);
        return withoutGil([&] { return call(*h.object, view.mat); });
    }
};

/** Adds methods to the Python class of Handle<T>, with `calls`' rules. */
template <class T>
class SharedMethods
{
public:
    using H = Handle<T>;

    SharedMethods(py::class_<H>& cls, GuardedCalls<T> calls) : cls_(cls), calls_(calls) {}

    /** `method(image)` returning one array: `call(object, image, out)` fills `out` (Detector's compute_* calls). */
    template <class F>
    void arrayCall(const char* method, const char* doc, bool needsTraining, F call)
    {
        const GuardedCalls<T> calls = calls_;
        cls_.def(
            method,
            [calls, method, needsTraining, call](const H& h, py::handle image) {
                cv::Mat out;
                calls.onImage(h, image, method, needsTraining, [&](T& object, const cv::Mat& mat) {
                    call(object, mat, out);
                });
                return matToPython(out);
            },
            py::arg("image"), doc);
    }

    /** `method(images)`, a non-const call on a list of images: `call(object, mats)` alone on the object, without
     *  the GIL (train, update). */
    template <class F>
    void imagesCall(const char* method, const char* doc, F call)
    {
        const char* type = calls_.type;
        cls_.def(
            method,
            [type, method, call](H& h, py::handle images) {
                const std::vector<MatView> views = imagesFromPython(images, "images");
                auto scope = h.guard->exclusive(type, method);
                withoutGil([&] { call(*h.object, toMats(views)); });
            },
            py::arg("images"), doc);
    }

    void calibrate(const char* doc)
    {
        const char* type = calls_.type;
        cls_.def(
            "calibrate",
            [type](H& h, py::handle images, double imageRate, double pixelRate) {
                const std::vector<MatView> views = imagesFromPython(images, "good_images");
                auto scope = h.guard->exclusive(type, "calibrate");
                withoutGil([&] { h.object->calibrate(toMats(views), imageRate, pixelRate); });
            },
            py::arg("good_images"), py::arg("image_false_alarm_rate") = 0.01,
            py::arg("pixel_false_alarm_rate") = 0.001, doc);
    }

    void detect(const char* doc)
    {
        const GuardedCalls<T> calls = calls_;
        cls_.def(
            "detect",
            [calls](const H& h, py::handle image, bool returnMask) -> py::object {
                double score = 0;
                cv::Mat mask;
                const bool defect = calls.onImage(h, image, "detect", true, [&](T& object, const cv::Mat& mat) {
                    return returnMask ? object.detect(mat, score, mask) : object.detect(mat, score);
                });
                if (!returnMask)
                    return py::make_tuple(defect, score);
                return py::make_tuple(defect, score, matToPython(mask));
            },
            py::arg("image"), py::arg("return_mask") = true, doc);
    }

    void save(const char* doc)
    {
        const char* type = calls_.type;
        cls_.def(
            "save",
            [type](const H& h, py::handle filename) {
                const std::string file = pathFromPython(filename, "filename");
                auto scope = h.guard->shared(type, "save");
                withoutGil([&] { h.object->save(file); });
            },
            py::arg("filename"), doc);
    }

    void setThresholds(const char* doc)
    {
        const char* type = calls_.type;
        cls_.def(
            "set_thresholds",
            [type](H& h, double image, double pixel) {
                auto scope = h.guard->exclusive(type, "set_thresholds");
                h.object->setThresholds(image, pixel);
            },
            py::arg("image_threshold"), py::arg("pixel_threshold"), doc);
    }

    /** The image_threshold and pixel_threshold properties. */
    void thresholds(const char* imageDoc, const char* pixelDoc)
    {
        cls_.def_property_readonly("image_threshold", [](const H& h) { return h.object->getImageThreshold(); },
                                   imageDoc);
        cls_.def_property_readonly("pixel_threshold", [](const H& h) { return h.object->getPixelThreshold(); },
                                   pixelDoc);
    }

    void clear(const char* doc)
    {
        const char* type = calls_.type;
        cls_.def(
            "clear",
            [type](H& h) {
                auto scope = h.guard->exclusive(type, "clear");
                h.object->clear();
            },
            doc);
    }

private:
    py::class_<H>& cls_;
    GuardedCalls<T> calls_;
};

} // namespace patchcore_python

#endif
