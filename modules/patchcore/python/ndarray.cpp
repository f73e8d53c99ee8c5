#include "ndarray.hpp"

#include <climits>
#include <sstream>

namespace patchcore_python {

std::string typeName(py::handle obj)
{
    py::handle type = reinterpret_cast<PyObject*>(Py_TYPE(obj.ptr()));
    const std::string module = py::str(type.attr("__module__"));
    const std::string name = py::str(type.attr("__qualname__"));
    return module == "builtins" ? name : module + "." + name;
}

namespace {

std::string shapeText(const py::array& a)
{
    std::ostringstream s;
    s << "(";
    for (py::ssize_t i = 0; i < a.ndim(); ++i)
        s << (i ? ", " : "") << a.shape(i);
    s << (a.ndim() == 1 ? ",)" : ")");
    return s.str();
}

std::string dtypeText(const py::array& a)
{
    return py::str(a.dtype());
}

// The OpenCV depth of a numpy dtype among `allowed`, or -1.
int depthOf(const py::array& a)
{
    const py::dtype dt = a.dtype();
    if (!py::bool_(dt.attr("isnative")))
        return -1; // byte-swapped data would be read as garbage
    const char kind = dt.kind();
    const py::ssize_t size = dt.itemsize();
    if (kind == 'u' && size == 1)
        return CV_8U;
    if (kind == 'u' && size == 2)
        return CV_16U;
    if (kind == 'f' && size == 4)
        return CV_32F;
    if (kind == 'b' && size == 1)
        return CV_8S; // bool: only masks take it, viewed as 0/1 bytes
    return -1;
}

py::array requireArray(py::handle obj, const std::string& what, const char* expected)
{
    if (obj.is_none())
        throw py::type_error(what + " is None, expected " + expected +
                             " (cv2.imread returns None when it cannot read the file: check the path)");
    if (!py::isinstance<py::array>(obj))
        throw py::type_error(what + " must be a numpy array (" + expected + "), got " + typeName(obj) +
                             (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj)
                                  ? "; convert it with numpy.asarray(..., dtype=numpy.uint8) or pass what cv2.imread "
                                    "returns"
                                  : ""));
    // Rows may be padded in a cv::Mat, but channels and pixels must be packed: the simplest rule that is always
    // right is a C-contiguous array, copied when the caller passed a view (a crop, a flipped or strided slice).
    return py::array::ensure(obj, py::array::c_style);
}

void requireSizes(const py::array& a, const std::string& what)
{
    for (py::ssize_t i = 0; i < a.ndim(); ++i)
        if (a.shape(i) == 0)
            throw py::value_error(what + " is empty (shape " + shapeText(a) + ")");
    if (a.shape(0) > INT_MAX || a.shape(1) > INT_MAX)
        throw py::value_error(what + " is too large (shape " + shapeText(a) + ")");
}

cv::Mat wrap(const py::array& a, int depth, int channels)
{
    return cv::Mat(static_cast<int>(a.shape(0)), static_cast<int>(a.shape(1)), CV_MAKETYPE(depth, channels),
                   const_cast<void*>(a.data()), static_cast<size_t>(a.strides(0)));
}

} // namespace

MatView imageFromPython(py::handle obj, const std::string& what)
{
    const char* expected = "H x W or H x W x C with C = 1, 3 or 4, dtype uint8, uint16 or float32";
    py::array a = requireArray(obj, what, expected);
    const int depth = depthOf(a);
    if (depth != CV_8U && depth != CV_16U && depth != CV_32F)
    {
        const char kind = a.dtype().kind();
        const std::string hint = kind == 'f'   ? "convert it with .astype(numpy.float32)"
                                 : kind == 'b' ? "convert it with .astype(numpy.uint8) * 255"
                                               : "convert it with .astype(numpy.uint8) or .astype(numpy.float32)";
        throw py::type_error(what + " has dtype " + dtypeText(a) + "; the detector takes uint8, uint16 or float32 (" +
                             hint + ")");
    }
    if (a.ndim() != 2 && a.ndim() != 3)
        throw py::value_error(what + " has shape " + shapeText(a) + "; expected " + expected +
                              (a.ndim() == 4 ? " (for several images pass a list of arrays)" : ""));
    const int channels = a.ndim() == 3 ? static_cast<int>(a.shape(2)) : 1;
    if (channels != 1 && channels != 3 && channels != 4)
        throw py::value_error(what + " has " + std::to_string(a.shape(2)) + " channels (shape " + shapeText(a) +
                              "); the detector takes 1 (gray), 3 (BGR) or 4 (BGRA)");
    requireSizes(a, what);
    MatView view{a, wrap(a, depth, channels)};
    return view;
}

std::vector<MatView> imagesFromPython(py::handle obj, const std::string& what)
{
    if (py::isinstance<py::array>(obj) || !py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
        throw py::type_error(what + " must be a list of images (numpy arrays), got " + typeName(obj) +
                             (py::isinstance<py::array>(obj) ? "; for one image pass [image]" : ""));
    const py::sequence seq = py::reinterpret_borrow<py::sequence>(obj);
    std::vector<MatView> out;
    out.reserve(seq.size());
    for (size_t i = 0; i < seq.size(); ++i)
        out.push_back(imageFromPython(seq[i], what + "[" + std::to_string(i) + "]"));
    return out;
}

std::vector<MatView> planesFromPython(py::handle obj, const std::string& what, bool masks)
{
    const char* expected = masks ? "an H x W mask of dtype uint8 (anomalous where > 0), bool, or float32 (> 0.5)"
                                 : "an H x W anomaly map of dtype float32";
    std::vector<py::object> items;
    if (py::isinstance<py::array>(obj))
        items.push_back(py::reinterpret_borrow<py::object>(obj));
    else if (py::isinstance<py::sequence>(obj) && !py::isinstance<py::str>(obj))
        for (py::handle item : py::reinterpret_borrow<py::sequence>(obj))
            items.push_back(py::reinterpret_borrow<py::object>(item));
    else
        throw py::type_error(what + " must be a numpy array or a list of them (" + expected + "), got " +
                             typeName(obj));
    std::vector<MatView> out;
    for (size_t i = 0; i < items.size(); ++i)
    {
        const std::string name = py::isinstance<py::array>(obj) ? what : what + "[" + std::to_string(i) + "]";
        py::array a = requireArray(items[i], name, expected);
        if (a.ndim() == 3 && a.shape(2) == 1)
            a = a.attr("reshape")(a.shape(0), a.shape(1));
        if (a.ndim() != 2)
            throw py::value_error(name + " has shape " + shapeText(a) + "; expected " + expected);
        const int depth = depthOf(a);
        const bool ok = masks ? (depth == CV_8U || depth == CV_8S || depth == CV_32F) : depth == CV_32F;
        if (!ok)
            throw py::type_error(name + " has dtype " + dtypeText(a) + "; expected " + expected +
                                 (masks ? "" : " (convert it with .astype(numpy.float32))"));
        requireSizes(a, name);
        out.push_back(MatView{a, wrap(a, depth == CV_8S ? CV_8U : depth, 1)});
    }
    return out;
}

MatView careMaskFromPython(py::handle obj, const std::string& what)
{
    const char* expected = "an H x W array of dtype uint8 (0 = don't care, 1..255 = care labels)";
    py::array a = requireArray(obj, what, expected);
    if (a.ndim() == 3 && a.shape(2) == 1)
        a = a.attr("reshape")(a.shape(0), a.shape(1));
    if (depthOf(a) != CV_8U)
    {
        const char kind = a.dtype().kind();
        throw py::type_error(what + " has dtype " + dtypeText(a) + "; expected " + expected +
                             (kind == 'b' ? " (convert it with .astype(numpy.uint8) * 255)"
                                          : " (convert it with .astype(numpy.uint8))"));
    }
    if (a.ndim() != 2)
        throw py::value_error(what + " has shape " + shapeText(a) + "; expected " + expected +
                              (a.ndim() == 3 ? " (one channel: for a BGR image use cv2.cvtColor or [:, :, 0])" : ""));
    requireSizes(a, what);
    return MatView{a, wrap(a, CV_8U, 1)};
}

std::vector<cv::Mat> toMats(const std::vector<MatView>& views)
{
    std::vector<cv::Mat> out;
    out.reserve(views.size());
    for (const MatView& v : views)
        out.push_back(v.mat);
    return out;
}

py::array matToPython(cv::Mat m)
{
    if (m.empty())
        return py::array_t<float>(std::vector<py::ssize_t>{0, 0});
    if (!m.isContinuous())
        m = m.clone();
    py::dtype dt;
    switch (m.depth())
    {
    case CV_8U: dt = py::dtype::of<uint8_t>(); break;
    case CV_16U: dt = py::dtype::of<uint16_t>(); break;
    case CV_32F: dt = py::dtype::of<float>(); break;
    case CV_64F: dt = py::dtype::of<double>(); break;
    case CV_32S: dt = py::dtype::of<int32_t>(); break;
    default: throw std::runtime_error("patchcore: no numpy dtype for OpenCV depth " + std::to_string(m.depth()));
    }
    std::vector<py::ssize_t> shape{m.rows, m.cols};
    std::vector<py::ssize_t> strides{static_cast<py::ssize_t>(m.step[0]), static_cast<py::ssize_t>(m.elemSize())};
    if (m.channels() > 1)
    {
        shape.push_back(m.channels());
        strides.push_back(static_cast<py::ssize_t>(m.elemSize1()));
    }
    // The array owns a reference to the Mat's buffer: no copy, freed when the array is.
    auto* owner = new cv::Mat(m);
    py::capsule base(owner, [](void* p) { delete static_cast<cv::Mat*>(p); });
    return py::array(dt, shape, strides, owner->data, base);
}

std::string pathFromPython(py::handle obj, const std::string& what)
{
    if (py::isinstance<py::str>(obj))
        return obj.cast<std::string>();
    if (py::hasattr(obj, "__fspath__"))
    {
        py::object p = py::module_::import("os").attr("fspath")(obj);
        if (py::isinstance<py::str>(p))
            return p.cast<std::string>();
    }
    throw py::type_error(what + " must be a path (str or os.PathLike), got " + typeName(obj));
}

std::vector<cv::String> pathsFromPython(py::handle obj, const std::string& what)
{
    if (!py::isinstance<py::sequence>(obj) || py::isinstance<py::str>(obj))
        throw py::type_error(what + " must be a list of paths, got " + typeName(obj) +
                             (py::isinstance<py::str>(obj) ? "; for one file pass [path]" : ""));
    std::vector<cv::String> out;
    size_t i = 0;
    for (py::handle item : py::reinterpret_borrow<py::sequence>(obj))
        out.push_back(pathFromPython(item, what + "[" + std::to_string(i++) + "]"));
    return out;
}

} // namespace patchcore_python
