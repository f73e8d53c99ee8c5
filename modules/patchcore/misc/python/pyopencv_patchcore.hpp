// Read by OpenCV's Python generator when the module builds inside an OpenCV source tree (doc/BUILD_IN_OPENCV.md):
// the list type of Detector::detectRegions() needs a name it can convert.
#ifdef HAVE_OPENCV_PATCHCORE
typedef std::vector<cv::patchcore::Region> vector_Region;
#endif
