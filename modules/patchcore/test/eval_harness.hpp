// Evaluation on MVTec-layout folders, shared by the parity tests and the `patchcore eval` command so that both
// measure exactly the same thing: listing a category, training, scoring the test split in the working frame (the
// frame the authors' evaluation uses), and the published metrics. Header-only and free of GoogleTest so that the
// sample program can include it.
#ifndef OPENCV_PATCHCORE_TEST_EVAL_HARNESS_HPP
#define OPENCV_PATCHCORE_TEST_EVAL_HARNESS_HPP

#include "opencv2/patchcore.hpp"
#include "opencv2/patchcore/metrics.hpp"

#include <opencv2/core/utils/filesystem.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace patchcore_eval {

/** One test image: test/<type>/<stem>.<ext>, its mask ground_truth/<type>/<stem>_mask.png. */
struct Sample
{
    std::string path;     // root + "/" + relative
    std::string relative; // e.g. "test/colour/00.jpg", the key of the reference CSVs
    std::string type;     // "good" or the defect type
    int label = 0;        // 1 = defective
    std::string maskPath; // empty for good images and for defective images without a mask file
};

/** A category's training images and test split. */
struct Split
{
    std::string root;
    std::vector<std::string> train; // full paths
    std::vector<Sample> test;
};

inline bool isImageName(const std::string& name)
{
    std::string ext = name.substr(name.find_last_of('.') + 1);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(::tolower(c)); });
    return ext == "png" || ext == "jpg" || ext == "jpeg" || ext == "bmp" || ext == "tif" || ext == "tiff";
}

inline std::string baseName(const std::string& path)
{
    const size_t slash = path.find_last_of('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

inline std::string stem(const std::string& path)
{
    const std::string name = baseName(path);
    return name.substr(0, name.find_last_of('.'));
}

inline std::vector<std::string> sortedEntries(const std::string& folder, bool dirs)
{
    std::vector<cv::String> all;
    cv::utils::fs::glob(folder, "*", all, false, dirs);
    std::vector<std::string> out;
    for (const auto& f : all)
        if (dirs ? cv::utils::fs::isDirectory(f) : isImageName(f))
            out.push_back(f);
    std::sort(out.begin(), out.end());
    return out;
}

/** A folder is a category when it has train/good. */
inline bool isCategory(const std::string& folder)
{
    return cv::utils::fs::isDirectory(folder + "/train/good");
}

/** `root` itself when it is a category, else its sub-folders that are categories, sorted by name. */
inline std::vector<std::string> findCategories(const std::string& root)
{
    if (!cv::utils::fs::isDirectory(root))
        CV_Error(cv::Error::StsObjectNotFound, "'" + root + "' is not a folder; give an MVTec-layout category or a "
                                               "folder of categories");
    if (isCategory(root))
        return {root};
    std::vector<std::string> out;
    for (const std::string& d : sortedEntries(root, true))
        if (isCategory(d))
            out.push_back(d);
    if (out.empty())
        CV_Error(cv::Error::StsObjectNotFound, "'" + root + "' is neither an MVTec-layout category (no train/good) nor "
                                               "a folder of categories; point at e.g. datasets/hazelnut_toy");
    return out;
}

/** Non-empty lines of a list file, each a path relative to `root` (e.g. "train/good/x.jpg"), made absolute. */
inline std::vector<std::string> readTrainList(const std::string& root, const std::string& listFile)
{
    std::ifstream in(listFile);
    if (!in)
        CV_Error(cv::Error::StsObjectNotFound, "cannot read the train list '" + listFile + "'");
    std::vector<std::string> out;
    std::string line;
    while (std::getline(in, line))
    {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (line.empty() || line[0] == '#')
            continue;
        const std::string path = line[0] == '/' ? line : root + "/" + line;
        if (!cv::utils::fs::exists(path))
            CV_Error(cv::Error::StsObjectNotFound, "train list '" + listFile + "' names '" + line +
                                                       "', which is not under '" + root +
                                                       "'; list paths relative to the category folder");
        out.push_back(path);
    }
    if (out.empty())
        CV_Error(cv::Error::StsBadArg, "train list '" + listFile + "' is empty");
    return out;
}

/** Lists a category: train/good (or the images of `trainList`), and every test image with its mask. */
inline Split loadSplit(const std::string& root, const std::string& trainList = std::string())
{
    Split s;
    s.root = root;
    s.train = trainList.empty() ? sortedEntries(root + "/train/good", false) : readTrainList(root, trainList);
    for (const std::string& dir : sortedEntries(root + "/test", true))
    {
        const std::string type = baseName(dir);
        for (const std::string& f : sortedEntries(dir, false))
        {
            Sample t;
            t.path = f;
            t.type = type;
            t.relative = "test/" + type + "/" + baseName(f);
            t.label = type == "good" ? 0 : 1;
            const std::string mask = root + "/ground_truth/" + type + "/" + stem(f) + "_mask.png";
            if (t.label && cv::utils::fs::exists(mask))
                t.maskPath = mask;
            s.test.push_back(t);
        }
    }
    if (s.train.empty() || s.test.empty())
        CV_Error(cv::Error::StsObjectNotFound, "'" + root + "' has no train/good or no test/<type> images");
    return s;
}

/** The first `n` of `items` after a Fisher-Yates shuffle driven by cv::RNG(seed): the same on every platform,
unlike std::shuffle, so that low-shot curves are reproducible. */
inline std::vector<std::string> seededSubset(std::vector<std::string> items, size_t n, int seed)
{
    cv::RNG rng(static_cast<uint64>(seed) + 0x9E3779B97F4A7C15ull);
    for (size_t i = items.size(); i > 1; --i)
        std::swap(items[i - 1], items[static_cast<size_t>(rng.uniform(0, static_cast<int>(i)))]);
    items.resize(std::min(n, items.size()));
    return items;
}

inline std::vector<cv::Mat> readImages(const std::vector<std::string>& paths)
{
    std::vector<cv::Mat> out;
    out.reserve(paths.size());
    for (const std::string& p : paths)
    {
        // UNCHANGED keeps grey images single-channel (the detector converts) and, like PIL, ignores EXIF rotation.
        cv::Mat m = cv::imread(p, cv::IMREAD_UNCHANGED);
        if (m.empty())
            CV_Error(cv::Error::StsObjectNotFound, "cannot read image '" + p + "'");
        out.push_back(m);
    }
    return out;
}

/** Per-image results and the metrics of one trained detector on one test split. */
struct Evaluation
{
    std::vector<double> scores, mapMax; // image score; largest value of the working-frame map
    std::vector<int> labels;
    std::vector<cv::Mat> maps;  // CV_32F, working frame (kept only when asked)
    std::vector<cv::Mat> masks; // CV_8U 0/255, working frame (kept only when asked)
    int trainImages = 0, bankSize = 0;
    int missingMasks = 0;   // defective images without a mask file, or with an empty one, scored as all-normal
    int masksOutOfCrop = 0; // defective images whose defect lies entirely outside the working frame
    // Per image: predictSeconds end to end (reading the image and its mask too), predictCallSeconds in predictMap().
    double trainSeconds = 0, predictSeconds = 0, predictCallSeconds = 0;
    double imageAUROC = std::numeric_limits<double>::quiet_NaN();
    double pixelAUROC = std::numeric_limits<double>::quiet_NaN();
    double pro = std::numeric_limits<double>::quiet_NaN();
    cv::patchcore::F1Threshold f1; // image level; threshold 0 when there are no defective images
};

/** Called with (stage, done, total); stage is "train" or "test". */
typedef std::function<void(const std::string&, int, int)> EvalProgress;

/** Scores every test image in the working frame, masks binarised at 0.5 after the detector's own resize and crop
(as the reference evaluates), then computes the metrics. Metrics that the split cannot define (no defective image,
no defect pixel inside the crop) stay NaN. A defective image without a mask, or with an empty one, contributes only
normal pixels -- the reference's loader does the same -- and is counted in missingMasks. */
inline void scoreTestSplit(const cv::patchcore::Detector& det, const Split& split, Evaluation& ev, bool keepMaps,
                           const EvalProgress& progress = EvalProgress())
{
    const size_t n = split.test.size();
    ev.scores.assign(n, 0);
    ev.mapMax.assign(n, 0);
    ev.labels.assign(n, 0);
    ev.maps.assign(n, cv::Mat());
    ev.masks.assign(n, cv::Mat());
    ev.missingMasks = ev.masksOutOfCrop = 0;
    const auto start = std::chrono::steady_clock::now();
    double callSeconds = 0;
    for (size_t i = 0; i < n; ++i)
    {
        const Sample& t = split.test[i];
        cv::Mat image = cv::imread(t.path, cv::IMREAD_UNCHANGED);
        if (image.empty())
            CV_Error(cv::Error::StsObjectNotFound, "cannot read test image '" + t.path + "'");
        cv::Mat map;
        const auto callStart = std::chrono::steady_clock::now();
        ev.scores[i] = det.predictMap(image, map, cv::patchcore::FRAME_WORKING);
        callSeconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - callStart).count();
        ev.labels[i] = t.label;
        cv::minMaxLoc(map, nullptr, &ev.mapMax[i]);
        cv::Mat mask = cv::Mat::zeros(map.size(), CV_8U);
        if (t.label)
        {
            const cv::Mat gt = t.maskPath.empty() ? cv::Mat() : cv::imread(t.maskPath, cv::IMREAD_GRAYSCALE);
            if (gt.empty() || cv::countNonZero(gt) == 0)
                ++ev.missingMasks;
            else
            {
                if (gt.size() != image.size())
                    CV_Error(cv::Error::StsBadSize, "mask '" + t.maskPath + "' is not the size of its image '" +
                                                        t.path + "'");
                cv::Mat working;
                det.toWorkingFrame(gt, working);
                cv::compare(working, 0.5, mask, cv::CMP_GT);
                if (cv::countNonZero(mask) == 0)
                    ++ev.masksOutOfCrop;
            }
        }
        ev.maps[i] = map;
        ev.masks[i] = mask;
        if (progress)
            progress("test", static_cast<int>(i + 1), static_cast<int>(n));
    }
    ev.predictSeconds = n ? std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / n : 0;
    ev.predictCallSeconds = n ? callSeconds / n : 0;

    const long defective = std::count(ev.labels.begin(), ev.labels.end(), 1);
    if (defective > 0 && defective < static_cast<long>(n))
        ev.imageAUROC = cv::patchcore::imageAUROC(ev.scores, ev.labels);
    if (defective > 0)
        ev.f1 = cv::patchcore::bestF1Threshold(ev.scores, ev.labels);
    size_t anomalousPixels = 0, allPixels = 0;
    for (size_t i = 0; i < n; ++i)
    {
        anomalousPixels += static_cast<size_t>(cv::countNonZero(ev.masks[i]));
        allPixels += ev.masks[i].total();
    }
    if (anomalousPixels > 0 && anomalousPixels < allPixels)
    {
        ev.pixelAUROC = cv::patchcore::pixelAUROC(ev.maps, ev.masks);
        ev.pro = cv::patchcore::computePRO(ev.maps, ev.masks, 0.3);
    }
    if (!keepMaps)
    {
        ev.maps.clear();
        ev.masks.clear();
    }
}

/** Trains a detector on `trainPaths` with the backbone `engine` (a BackboneEngine) and evaluates it on the split's
test images. */
inline cv::Ptr<cv::patchcore::Detector> trainAndEvaluate(const cv::patchcore::Params& params, const Split& split,
                                                         const std::vector<std::string>& trainPaths,
                                                         Evaluation& ev, bool keepMaps,
                                                         const EvalProgress& progress = EvalProgress(),
                                                         int engine = cv::patchcore::ENGINE_AUTO)
{
    const auto start = std::chrono::steady_clock::now();
    const std::vector<cv::Mat> train = readImages(trainPaths);
    cv::Ptr<cv::patchcore::Detector> det = cv::patchcore::Detector::create(params);
    if (engine != cv::patchcore::ENGINE_AUTO) // create() has built ENGINE_AUTO already
        det->setBackboneEngine(engine);
    if (progress)
        det->setProgressCallback([&progress](const cv::patchcore::Progress& p) {
            if (p.total > 0 && p.message.empty())
                progress("train " + p.stage, p.done, p.total);
            return true;
        });
    det->train(train);
    det->setProgressCallback(cv::patchcore::ProgressCallback());
    ev.trainSeconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    ev.trainImages = static_cast<int>(train.size());
    ev.bankSize = det->getMemoryBankSize();
    scoreTestSplit(*det, split, ev, keepMaps, progress);
    return det;
}

/** score_raw of each image of a reference CSV (columns image, anomaly_type, label, score_raw, ...), by image. */
inline std::map<std::string, double> readReferenceScores(const std::string& csvPath)
{
    std::ifstream in(csvPath);
    if (!in)
        CV_Error(cv::Error::StsObjectNotFound, "cannot read reference CSV '" + csvPath + "'");
    std::string line;
    std::getline(in, line);
    std::vector<std::string> header;
    {
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ','))
            header.push_back(cell);
    }
    const auto col = std::find(header.begin(), header.end(), "score_raw") - header.begin();
    if (header.empty() || header[0] != "image" || col >= static_cast<long>(header.size()))
        CV_Error(cv::Error::StsParseError, "'" + csvPath + "' lacks the columns image and score_raw");
    std::map<std::string, double> out;
    while (std::getline(in, line))
    {
        std::vector<std::string> cells;
        std::stringstream ss(line);
        std::string cell;
        while (std::getline(ss, cell, ','))
            cells.push_back(cell);
        if (cells.size() > static_cast<size_t>(col))
            out[cells[0]] = std::stod(cells[static_cast<size_t>(col)]);
    }
    return out;
}

/** Ranks from 1, ties sharing their mean rank. */
inline std::vector<double> ranks(const std::vector<double>& v)
{
    std::vector<size_t> order(v.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    std::sort(order.begin(), order.end(), [&v](size_t a, size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (size_t i = 0; i < order.size();)
    {
        size_t j = i;
        while (j < order.size() && v[order[j]] == v[order[i]])
            ++j;
        for (size_t k = i; k < j; ++k)
            r[order[k]] = 0.5 * static_cast<double>(i + j + 1);
        i = j;
    }
    return r;
}

/** Spearman's rank correlation (Pearson correlation of the ranks); NaN when either side is constant. */
inline double spearman(const std::vector<double>& a, const std::vector<double>& b)
{
    CV_Assert(a.size() == b.size() && a.size() > 1);
    const std::vector<double> ra = ranks(a), rb = ranks(b);
    const double mean = 0.5 * static_cast<double>(a.size() + 1);
    double sab = 0, saa = 0, sbb = 0;
    for (size_t i = 0; i < a.size(); ++i)
    {
        sab += (ra[i] - mean) * (rb[i] - mean);
        saa += (ra[i] - mean) * (ra[i] - mean);
        sbb += (rb[i] - mean) * (rb[i] - mean);
    }
    return saa > 0 && sbb > 0 ? sab / std::sqrt(saa * sbb) : std::numeric_limits<double>::quiet_NaN();
}

/** How our per-image scores compare with a reference CSV, over the images both have. */
struct ReferenceComparison
{
    int matched = 0, missing = 0;   // test images found / not found in the reference
    double spearman = 0;            // rank correlation of the scores
    double maxRelativeDiff = 0;     // max |ours - ref| / |ref|
    double medianRelativeDiff = 0;  // its median: about 1e-6 where the banks are the same
    std::string worstImage;         // where that maximum occurs
};

inline ReferenceComparison compareWithReference(const Split& split, const Evaluation& ev,
                                                const std::map<std::string, double>& reference)
{
    ReferenceComparison c;
    std::vector<double> ours, theirs, relative;
    for (size_t i = 0; i < split.test.size(); ++i)
    {
        const auto it = reference.find(split.test[i].relative);
        if (it == reference.end())
        {
            ++c.missing;
            continue;
        }
        ours.push_back(ev.scores[i]);
        theirs.push_back(it->second);
        const double rel = std::abs(ev.scores[i] - it->second) / std::max(std::abs(it->second), 1e-12);
        relative.push_back(rel);
        if (rel >= c.maxRelativeDiff)
        {
            c.maxRelativeDiff = rel;
            c.worstImage = split.test[i].relative;
        }
    }
    c.matched = static_cast<int>(ours.size());
    if (!relative.empty())
    {
        std::nth_element(relative.begin(), relative.begin() + relative.size() / 2, relative.end());
        c.medianRelativeDiff = relative[relative.size() / 2];
    }
    c.spearman = ours.size() > 1 ? spearman(ours, theirs) : std::numeric_limits<double>::quiet_NaN();
    return c;
}

} // namespace patchcore_eval

#endif
