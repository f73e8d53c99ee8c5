// Ensemble of detectors: per-member normalisation from held-out good images, averaged scores and maps, one file.
#include "precomp.hpp"
#include "opencv2/patchcore/ensemble.hpp"
#include "detector_impl.hpp"
#include "preprocess.hpp"
#include "quantile.hpp"
#include "regions.hpp"
#include "serialization.hpp"
#include "storage_text.hpp"

#include <cmath>
#include <limits>

namespace cv {
namespace patchcore {

Ensemble::~Ensemble() {}

namespace detail {
namespace {

const uint32_t kEnsembleFormatVersion = 1;
const char* const kEnsembleNode = "opencv_patchcore_Ensemble";

std::string memberSection(size_t i) { return "member" + std::to_string(i); }

struct Normalization
{
    double mean = 0, stdev = 1;
};

const double kNoThreshold = std::numeric_limits<double>::quiet_NaN();
// The rates train() calibrates at: those of Params' defaults for a single detector.
const double kTrainImageFalseAlarmRate = 0.01;
const double kTrainPixelFalseAlarmRate = 0.001;

class EnsembleImpl CV_FINAL : public Ensemble
{
public:
    explicit EnsembleImpl(double holdoutFraction) : holdout_(holdoutFraction)
    {
        if (!(holdoutFraction > 0 && holdoutFraction < 1))
            PATCHCORE_ERROR(Error::StsBadArg,
                            "Ensemble holdoutFraction must be in (0, 1), got " + std::to_string(holdoutFraction));
    }

    void addMember(const Params& params) CV_OVERRIDE
    {
        if (!empty())
            PATCHCORE_ERROR(Error::StsError, "the ensemble is trained; call clear() before adding members");
        members_.push_back(Detector::create(params));
    }

    void adopt(std::vector<Ptr<Detector>> members, std::vector<Normalization> norms, double imageThreshold,
               double pixelThreshold)
    {
        members_ = std::move(members);
        norms_ = std::move(norms);
        imageThreshold_ = imageThreshold;
        pixelThreshold_ = pixelThreshold;
    }

    void train(InputArrayOfArrays images) CV_OVERRIDE
    {
        if (members_.empty())
            PATCHCORE_ERROR(Error::StsError, "the ensemble has no members; call addMember() first");
        const std::vector<Mat> all = collectImages(images, "Ensemble::train()");
        const int n = static_cast<int>(all.size());
        const int held = std::max(1, static_cast<int>(std::lround(n * holdout_)));
        if (n - held < 1)
            PATCHCORE_ERROR(Error::StsBadArg, "an ensemble needs at least 2 training images (one is held out to "
                                              "normalise the members), got " +
                                                  std::to_string(n));
        // Held-out images spread evenly over the list, so that an ordered folder (e.g. by date) is sampled fairly.
        std::vector<Mat> fit, heldOut;
        for (int i = 0; i < n; ++i)
            ((i + 1) * held / n > i * held / n ? heldOut : fit).push_back(all[i]);

        try
        {
            std::vector<Normalization> norms;
            for (const Ptr<Detector>& m : members_)
            {
                m->train(fit);
                norms.push_back(heldOutStatistics(*m, heldOut, norms.size()));
            }
            norms_ = std::move(norms);
            // The held-out images are still unseen by every member: the one moment they can set honest thresholds.
            calibrateOn(heldOut, kTrainImageFalseAlarmRate, kTrainPixelFalseAlarmRate);
            for (const Ptr<Detector>& m : members_)
                m->update(heldOut);
        }
        catch (...)
        {
            clear(); // never leave some members trained and others not
            throw;
        }
    }

    void calibrate(InputArrayOfArrays goodImages, double imageFalseAlarmRate, double pixelFalseAlarmRate) CV_OVERRIDE
    {
        requireTrained("calibrate");
        checkFalseAlarmRates(imageFalseAlarmRate, pixelFalseAlarmRate, "Ensemble::calibrate()");
        const std::vector<Mat> images = collectImages(goodImages, "Ensemble::calibrate()");
        calibrateOn(images, imageFalseAlarmRate, pixelFalseAlarmRate);
    }

    double getImageThreshold() const CV_OVERRIDE { return imageThreshold_; }
    double getPixelThreshold() const CV_OVERRIDE { return pixelThreshold_; }

    void setThresholds(double imageThreshold, double pixelThreshold) CV_OVERRIDE
    {
        if (!std::isfinite(imageThreshold) || !std::isfinite(pixelThreshold))
            PATCHCORE_ERROR(Error::StsBadArg, "Ensemble::setThresholds() needs finite thresholds");
        imageThreshold_ = imageThreshold;
        pixelThreshold_ = pixelThreshold;
    }

    bool detect(InputArray image, double& score, OutputArray defectMask) const CV_OVERRIDE
    {
        requireTrained("detect");
        if (std::isnan(imageThreshold_) || std::isnan(pixelThreshold_))
            PATCHCORE_ERROR(Error::StsError, "Ensemble::detect() needs thresholds; call calibrate() with good "
                                             "images or setThresholds()");
        Mat map;
        score = predict(image, defectMask.needed() ? _OutputArray(map) : _OutputArray(noArray()));
        if (defectMask.needed())
            defectPixels(map, Mat(), pixelThreshold_, std::vector<double>()).copyTo(defectMask);
        return score > imageThreshold_;
    }

    double predict(InputArray image, OutputArray anomalyMap) const CV_OVERRIDE
    {
        requireTrained("predict");
        const Mat img = singleImage(image, "Ensemble::predict()");
        const bool wantMap = anomalyMap.needed();
        double sum = 0;
        Mat mapSum, map;
        for (size_t i = 0; i < members_.size(); ++i)
        {
            const Normalization& nm = norms_[i];
            const double score = wantMap ? members_[i]->predict(img, map) : members_[i]->predict(img);
            sum += (score - nm.mean) / nm.stdev;
            if (!wantMap)
                continue;
            Mat normalized;
            map.convertTo(normalized, CV_32F, 1.0 / nm.stdev, -nm.mean / nm.stdev);
            if (mapSum.empty())
                mapSum = normalized;
            else
                mapSum += normalized;
        }
        const double count = static_cast<double>(members_.size());
        if (wantMap)
            mapSum.convertTo(anomalyMap, CV_32F, 1.0 / count);
        return sum / count;
    }

    double predictMembers(InputArray image, std::vector<double>& memberScores) const CV_OVERRIDE
    {
        requireTrained("predictMembers");
        const Mat img = singleImage(image, "Ensemble::predictMembers()");
        memberScores.assign(members_.size(), 0.0);
        double sum = 0;
        for (size_t i = 0; i < members_.size(); ++i)
        {
            memberScores[i] = (members_[i]->predict(img) - norms_[i].mean) / norms_[i].stdev;
            sum += memberScores[i];
        }
        return sum / static_cast<double>(members_.size());
    }

    void save(const String& filename) const CV_OVERRIDE
    {
        if (filename.empty())
            PATCHCORE_ERROR(Error::StsBadArg, "Ensemble::save() needs a file name");
        requireTrained("save");
        FileStorage fs(".yml", FileStorage::WRITE | FileStorage::MEMORY);
        fs << kEnsembleNode << "{";
        fs << "format_version" << static_cast<int>(kEnsembleFormatVersion);
        fs << "holdout_fraction" << holdout_;
        // Absent when not calibrated: FileStorage has no portable spelling of NaN.
        if (std::isfinite(imageThreshold_) && std::isfinite(pixelThreshold_))
            fs << "image_threshold" << imageThreshold_ << "pixel_threshold" << pixelThreshold_;
        fs << "members" << "[";
        for (const Normalization& nm : norms_)
            fs << "{" << "mean" << nm.mean << "stdev" << nm.stdev << "}";
        fs << "]" << "}";
        const std::string header = fs.releaseAndGetString();
        Sections sections;
        sections["ensemble"] = std::vector<uchar>(header.begin(), header.end());
        for (size_t i = 0; i < members_.size(); ++i)
            sections[memberSection(i)] = detectorBytes(*members_[i]);
        writeContainer(filename, kEnsembleFormatVersion, sections);
    }

    int getMemberCount() const CV_OVERRIDE { return static_cast<int>(members_.size()); }

    Ptr<Detector> getMember(int index) const CV_OVERRIDE
    {
        checkIndex(index);
        return members_[index];
    }

    void getNormalization(int index, double& mean, double& stdev) const CV_OVERRIDE
    {
        checkIndex(index);
        requireTrained("getNormalization");
        mean = norms_[index].mean;
        stdev = norms_[index].stdev;
    }

    double getHoldoutFraction() const CV_OVERRIDE { return holdout_; }
    bool empty() const CV_OVERRIDE { return norms_.empty() || norms_.size() != members_.size(); }

    void clear() CV_OVERRIDE
    {
        for (const Ptr<Detector>& m : members_)
            m->clear();
        norms_.clear();
        imageThreshold_ = pixelThreshold_ = kNoThreshold;
    }

private:
    /** Thresholds at the given rates from the ensemble's scores and seen map pixels on good images. */
    void calibrateOn(const std::vector<Mat>& goodImages, double imageFalseAlarmRate, double pixelFalseAlarmRate)
    {
        std::vector<double> scores;
        std::vector<float> pixels;
        for (const Mat& img : goodImages)
        {
            Mat map;
            scores.push_back(predict(img, map));
            const Mat seen = seenPixels(map.size());
            for (int y = 0; y < map.rows; ++y)
                for (int x = 0; x < map.cols; ++x)
                    if (seen.at<uchar>(y, x))
                        pixels.push_back(map.at<float>(y, x));
        }
        if (pixels.empty())
            PATCHCORE_ERROR(Error::StsError, "no member sees any pixel of the calibration images");
        imageThreshold_ = upperQuantile(scores, 1.0 - imageFalseAlarmRate);
        pixelThreshold_ = upperQuantile(pixels, 1.0 - pixelFalseAlarmRate);
    }

    /** Pixels of an image of `size` that at least one member's backbone sees: all of them, except for members
     *  in INPUT_CENTER_CROP mode, whose maps hold 0 (not a measurement) outside the crop. */
    Mat seenPixels(Size size) const
    {
        Mat seen(size, CV_8U, Scalar(0));
        for (const Ptr<Detector>& m : members_)
        {
            const CropGeometry g = computeGeometry(size, m->getParams());
            const Mat inside = mapToInputFrame(Mat(g.crop.size(), CV_32F, Scalar(1)), g, 0.f);
            seen |= inside > 0.5f;
        }
        return seen;
    }

    Normalization heldOutStatistics(const Detector& member, const std::vector<Mat>& heldOut, size_t index) const
    {
        // Working frame: only pixels the backbone saw, so the zeros outside a centre crop do not bias the statistics.
        double sum = 0, sumSq = 0, count = 0;
        for (const Mat& img : heldOut)
        {
            Mat map;
            member.predictMap(img, map, FRAME_WORKING);
            Mat map64;
            map.convertTo(map64, CV_64F);
            sum += cv::sum(map64)[0];
            sumSq += map64.dot(map64);
            count += static_cast<double>(map64.total());
        }
        Normalization nm;
        nm.mean = sum / count;
        nm.stdev = std::sqrt(std::max(0.0, sumSq / count - nm.mean * nm.mean));
        if (!(nm.stdev > 0) || !std::isfinite(nm.stdev))
            PATCHCORE_ERROR(Error::StsError,
                            "ensemble member " + std::to_string(index) +
                                " gives constant anomaly maps on the held-out good images, so it cannot "
                                "be normalised; check its backbone and layers, or hold out more images");
        return nm;
    }

    void requireTrained(const char* what) const
    {
        if (empty())
            PATCHCORE_ERROR(Error::StsError,
                            std::string("Ensemble::") + what +
                                "() needs a trained ensemble; call addMember() and train(), or load()");
    }

    void checkIndex(int index) const
    {
        if (index < 0 || index >= static_cast<int>(members_.size()))
            PATCHCORE_ERROR(Error::StsOutOfRange, "ensemble member index " + std::to_string(index) +
                                                      " is outside [0, " + std::to_string(members_.size()) + ")");
    }

    double holdout_;
    std::vector<Ptr<Detector>> members_;
    std::vector<Normalization> norms_;
    double imageThreshold_ = kNoThreshold, pixelThreshold_ = kNoThreshold;
};

[[noreturn]] void badEnsembleFile(const std::string& path, const std::string& what)
{
    PATCHCORE_ERROR(Error::StsParseError, "invalid ensemble file '" + path + "': " + what);
}

} // namespace
} // namespace detail

Ptr<Ensemble> Ensemble::create(double holdoutFraction)
{
    return makePtr<detail::EnsembleImpl>(holdoutFraction);
}

namespace detail {

/** An ensemble from its container's sections (`version`: the container's). */
Ptr<Ensemble> ensembleFromSections(Sections& sections, uint32_t version, const std::string& filename)
{
    if (!sections.count("ensemble"))
    {
        if (sections.count("header"))
            badEnsembleFile(filename, "it holds a single detector; load it with Detector::load()");
        badEnsembleFile(filename, "it lacks its 'ensemble' section");
    }
    if (version > kEnsembleFormatVersion)
        PATCHCORE_ERROR(Error::StsParseError, "'" + filename + "' was saved by a newer version (ensemble format " +
                                                  std::to_string(version) + "), this library reads up to " +
                                                  std::to_string(kEnsembleFormatVersion) +
                                                  "; upgrade the library or save the ensemble again with this version");
    const std::vector<uchar>& headerBytes = sections["ensemble"];
    checkStorageText(reinterpret_cast<const char*>(headerBytes.data()), headerBytes.size(),
                     "the header of '" + filename + "'");
    std::vector<Normalization> norms;
    double holdout = 0, imageThreshold = kNoThreshold, pixelThreshold = kNoThreshold;
    FileStorage fs;
    try
    {
        fs.open(std::string(headerBytes.begin(), headerBytes.end()), FileStorage::READ | FileStorage::MEMORY);
    }
    catch (const cv::Exception& e)
    {
        badEnsembleFile(filename, "unreadable header: " + e.err);
    }
    catch (const std::exception& e) // OpenCV's parser lets some std exceptions out (found by fuzzing)
    {
        badEnsembleFile(filename, std::string("unreadable header: ") + e.what());
    }
    try
    {
        const FileNode root = fs[kEnsembleNode];
        holdout = static_cast<double>(root["holdout_fraction"]);
        if (!root["image_threshold"].empty() || !root["pixel_threshold"].empty())
        {
            imageThreshold = static_cast<double>(root["image_threshold"]);
            pixelThreshold = static_cast<double>(root["pixel_threshold"]);
            if (!std::isfinite(imageThreshold) || !std::isfinite(pixelThreshold))
                badEnsembleFile(filename, "its decision thresholds are not finite numbers");
        }
        for (const FileNode& m : root["members"])
        {
            Normalization nm;
            nm.mean = static_cast<double>(m["mean"]);
            nm.stdev = static_cast<double>(m["stdev"]);
            if (!std::isfinite(nm.mean) || !(nm.stdev > 0) || !std::isfinite(nm.stdev))
                badEnsembleFile(filename, "a member's normalisation is not finite and positive");
            norms.push_back(nm);
        }
    }
    catch (const cv::Exception& e)
    {
        if (isUserFacing(e))
            throw;
        badEnsembleFile(filename, "unreadable header: " + e.err);
    }
    catch (const std::exception& e)
    {
        badEnsembleFile(filename, std::string("unreadable header: ") + e.what());
    }
    if (norms.empty())
        badEnsembleFile(filename, "it has no members");
    std::vector<Ptr<Detector>> members;
    for (size_t i = 0; i < norms.size(); ++i)
    {
        const std::string name = memberSection(i);
        if (!sections.count(name))
            badEnsembleFile(filename, "section '" + name + "' is missing");
        members.push_back(detectorFromBytes(sections[name], "member " + std::to_string(i) + " of '" + filename + "'",
                                            parentFolder(filename)));
        if (members.back()->empty())
            badEnsembleFile(filename, "member " + std::to_string(i) + " is not trained");
    }
    Ptr<EnsembleImpl> ens = makePtr<EnsembleImpl>(holdout > 0 && holdout < 1 ? holdout : 0.2);
    ens->adopt(std::move(members), std::move(norms), imageThreshold, pixelThreshold);
    return ens;
}

/** Detector and ensemble files share the container: it is read up to either's version, so that a file of the other
 *  kind is named as such before its version is judged. */
Sections readEitherContainer(const std::string& filename, uint32_t* version)
{
    return readContainer(filename, std::max<uint32_t>(kEnsembleFormatVersion, kFormatVersion), version);
}

} // namespace detail

Ptr<Ensemble> Ensemble::load(const String& filename)
{
    using namespace detail;
    if (filename.empty())
        PATCHCORE_ERROR(Error::StsBadArg, "Ensemble::load() needs a file name");
    uint32_t version = 0;
    Sections sections = readEitherContainer(filename, &version);
    return ensembleFromSections(sections, version, filename);
}

Ptr<Inspector> Inspector::load(const String& filename)
{
    using namespace detail;
    if (!filename.empty() && isContainerFile(filename))
    {
        uint32_t version = 0;
        Sections sections = readEitherContainer(filename, &version);
        if (sections.count("ensemble"))
            return ensembleFromSections(sections, version, filename);
        if (sections.count("header") && version <= static_cast<uint32_t>(kFormatVersion))
            return detectorFromSections(sections, filename, parentFolder(filename));
    }
    return Detector::load(filename);
}

String Ensemble::getDefaultName() const { return "PatchCore.Ensemble"; }

} // namespace patchcore
} // namespace cv
