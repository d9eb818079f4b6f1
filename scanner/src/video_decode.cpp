// Video decoding with FFmpeg 5.1 (video.hpp). FFmpeg's types stay in this file.
#include "hashguard/scanner/video.hpp"

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/imgutils.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

namespace hashguard::scanner {

namespace {

// FFmpeg reports a stream cap only in its log ("Number of streams exceeds max_streams"); the
// demuxer's own error is a bare ENOMEM. The log callback (FFmpeg process state, installed
// once) drops every message and raises this flag for that one, on the decoding thread.
thread_local bool stream_cap_hit = false;

void log_callback(void* /*avcl*/, int level, const char* format, va_list /*args*/) {
  if (level <= AV_LOG_ERROR && format != nullptr && std::strstr(format, "max_streams") != nullptr) {
    stream_cap_hit = true;
  }
}

void install_log_callback() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(log_callback); });
}

struct format_closer {
  void operator()(AVFormatContext* p) const noexcept { avformat_close_input(&p); }
};
struct codec_closer {
  void operator()(AVCodecContext* p) const noexcept { avcodec_free_context(&p); }
};
struct packet_closer {
  void operator()(AVPacket* p) const noexcept { av_packet_free(&p); }
};
struct frame_closer {
  void operator()(AVFrame* p) const noexcept { av_frame_free(&p); }
};
struct sws_closer {
  void operator()(SwsContext* p) const noexcept { sws_freeContext(p); }
};
struct avio_closer {
  void operator()(AVIOContext* p) const noexcept {
    if (p != nullptr) av_freep(&p->buffer);
    avio_context_free(&p);
  }
};
struct dict_array_closer {
  std::size_t count{};
  void operator()(AVDictionary** p) const noexcept {
    for (std::size_t i = 0; i < count; ++i) av_dict_free(&p[i]);
    av_free(static_cast<void*>(p));
  }
};

// The input bytes as an FFmpeg I/O context.
struct memory_reader {
  std::span<const std::uint8_t> bytes;
  std::size_t position{};
  bool reached_end{};  // a read asked for bytes past the end

  static int read(void* opaque, std::uint8_t* buffer, int size) {
    auto* self = static_cast<memory_reader*>(opaque);
    const std::size_t left = self->bytes.size() - self->position;
    if (left == 0) {
      self->reached_end = true;
      return AVERROR_EOF;
    }
    const std::size_t n = std::min(left, static_cast<std::size_t>(std::max(size, 0)));
    std::memcpy(buffer, self->bytes.data() + self->position, n);
    self->position += n;
    return static_cast<int>(n);
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* self = static_cast<memory_reader*>(opaque);
    const auto size = static_cast<std::int64_t>(self->bytes.size());
    std::int64_t target = 0;
    switch (whence & ~AVSEEK_FORCE) {
      case AVSEEK_SIZE: return size;
      case SEEK_SET: target = offset; break;
      case SEEK_CUR: target = static_cast<std::int64_t>(self->position) + offset; break;
      case SEEK_END: target = size + offset; break;
      default: return AVERROR(EINVAL);
    }
    if (target < 0 || target > size) return AVERROR(EINVAL);
    self->position = static_cast<std::size_t>(target);
    return target;
  }
};

const char* demuxer_name(video_container c) noexcept {
  switch (c) {
    case video_container::mp4: return "mov";
    case video_container::matroska: return "matroska";
    case video_container::avi: return "avi";
    case video_container::mpeg_ts: return "mpegts";
  }
  return "";
}

std::string codec_whitelist() {
  std::string list;
  for (const auto name : video_codec_names) {
    if (!list.empty()) list += ',';
    list += name;
  }
  return list;
}

bool codec_allowed(const char* name) noexcept {
  return name != nullptr && std::find(video_codec_names.begin(), video_codec_names.end(),
                                      std::string_view(name)) != video_codec_names.end();
}

double seconds(std::int64_t value, AVRational base) noexcept {
  if (value == AV_NOPTS_VALUE || value <= 0) return 0.0;
  return static_cast<double>(value) * av_q2d(base);
}

// The checks a header allows before any frame is decoded (declared size, duration, frames).
errc check_declared(const AVFormatContext& format, const AVStream& stream,
                    const video_limits& limits) noexcept {
  const auto* par = stream.codecpar;
  const std::uint64_t pixels =
      std::uint64_t(std::max(par->width, 0)) * std::uint64_t(std::max(par->height, 0));
  if (pixels > limits.max_pixels) return errc::too_many_pixels;
  const double duration = std::max(seconds(format.duration, AVRational{1, AV_TIME_BASE}),
                                   seconds(stream.duration, stream.time_base));
  if (duration > limits.max_duration_s) return errc::too_long;
  const auto frames = static_cast<std::uint64_t>(std::max<std::int64_t>(stream.nb_frames, 0));
  if (frames > limits.max_frames) return errc::too_many_frames;
  if (pixels != 0 && frames > limits.max_total_pixels / pixels) return errc::too_many_pixels;
  return errc{};
}

class video_decode_run {
 public:
  video_decode_run(std::span<const std::uint8_t> bytes, const video_sampling& sampling,
                   const video_limits& limits, scan_budget& budget, const video_frame_sink& sink)
      : reader_{bytes, 0}, sampling_(sampling), limits_(limits), budget_(budget), sink_(sink) {}

  core::result<video_info> run() {
    if (reader_.bytes.empty()) return errc::empty;
    if (reader_.bytes.size() > limits_.max_bytes) return errc::too_large;
    auto container = sniff_video(reader_.bytes);
    if (!container) return container.error();
    info_.container = *container;
    if (const errc e = budget_.check(); e != errc{}) return e;
    install_log_callback();
    stream_cap_hit = false;

    if (auto opened = open(); !opened) return opened.error();
    if (auto decoded = decode_all(); !decoded) return decoded.error();
    return std::move(info_);
  }

 private:
  core::result<void> open() {
    constexpr int io_buffer_size = 64 * 1024;
    auto* io_buffer = static_cast<std::uint8_t*>(av_malloc(io_buffer_size));
    if (io_buffer == nullptr) return errc::out_of_memory;
    io_.reset(avio_alloc_context(io_buffer, io_buffer_size, 0, &reader_, &memory_reader::read,
                                 nullptr, &memory_reader::seek));
    if (!io_) {
      av_free(io_buffer);
      return errc::out_of_memory;
    }
    AVFormatContext* raw = avformat_alloc_context();
    if (raw == nullptr) return errc::out_of_memory;
    raw->pb = io_.get();
    raw->flags |= AVFMT_FLAG_CUSTOM_IO;
    raw->max_streams = static_cast<int>(std::min<std::uint32_t>(limits_.max_streams, 1U << 20U));
    raw->format_whitelist = av_strdup("mov,matroska,avi,mpegts");
    raw->codec_whitelist = av_strdup(codec_whitelist().c_str());
    // No nested opens (QuickTime references, playlists): the bytes given are all there is.
    raw->protocol_whitelist = av_strdup("none");
    const AVInputFormat* demuxer = av_find_input_format(demuxer_name(info_.container));
    if (avformat_open_input(&raw, "", demuxer, nullptr) < 0) {  // frees `raw` on failure
      return open_failure();
    }
    format_.reset(raw);
    if (const errc e = budget_.check(); e != errc{}) return e;
    if (format_->nb_streams > limits_.max_streams) return errc::too_many_streams;

    stream_index_ = first_video_stream();  // the reference's choice: the first video stream
    if (stream_index_ < 0) return reader_.reached_end ? errc::truncated : errc::unsupported_format;
    AVStream* stream = format_->streams[stream_index_];
    if (const errc e = check_declared(*format_, *stream, limits_); e != errc{}) return e;

    // Probing decodes a few frames: bound them as the real decoder is bounded.
    const std::size_t count = format_->nb_streams;
    auto** options = static_cast<AVDictionary**>(av_calloc(count, sizeof(AVDictionary*)));
    if (options == nullptr) return errc::out_of_memory;
    std::unique_ptr<AVDictionary*, dict_array_closer> options_owner(options,
                                                                    dict_array_closer{count});
    const std::string max_pixels = std::to_string(limits_.max_pixels);
    for (std::size_t i = 0; i < count; ++i) {
      av_dict_set(&options[i], "threads", "1", 0);
      av_dict_set(&options[i], "max_pixels", max_pixels.c_str(), 0);
    }
    if (avformat_find_stream_info(format_.get(), options) < 0) return open_failure();
    if (const errc e = budget_.check(); e != errc{}) return e;
    if (stream_cap_hit || format_->nb_streams > limits_.max_streams) {
      return errc::too_many_streams;
    }
    if (const errc e = check_declared(*format_, *stream, limits_); e != errc{}) return e;
    info_.declared_duration_s = std::max(seconds(format_->duration, AVRational{1, AV_TIME_BASE}),
                                         seconds(stream->duration, stream->time_base));
    return open_codec(*stream);
  }

  core::result<void> open_failure() const {
    if (stream_cap_hit) return errc::too_many_streams;
    // A header cut short reads past the end of the data.
    if (reader_.reached_end) return errc::truncated;
    return errc::corrupt;
  }

  int first_video_stream() const noexcept {
    for (unsigned i = 0; i < format_->nb_streams; ++i) {
      if (format_->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_VIDEO) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  core::result<void> open_codec(const AVStream& stream) {
    const AVCodecParameters* par = stream.codecpar;
    if (par->width <= 0 || par->height <= 0) return errc::corrupt;
    const AVCodec* codec = avcodec_find_decoder(par->codec_id);
    if (codec == nullptr || !codec_allowed(codec->name)) return errc::unsupported_format;
    codec_.reset(avcodec_alloc_context3(codec));
    if (!codec_) return errc::out_of_memory;
    if (avcodec_parameters_to_context(codec_.get(), par) < 0) return errc::corrupt;
    codec_->thread_count = 1;
    codec_->max_pixels = static_cast<std::int64_t>(limits_.max_pixels);
    if (avcodec_open2(codec_.get(), codec, nullptr) < 0) return errc::corrupt;

    info_.codec = codec->name;
    info_.width = static_cast<std::uint32_t>(par->width);
    info_.height = static_cast<std::uint32_t>(par->height);
    AVRational rate = stream.avg_frame_rate;
    if (rate.num == 0 || rate.den == 0) rate = stream.r_frame_rate;
    if (rate.num == 0 || rate.den == 0) return errc::corrupt;
    info_.frame_rate = static_cast<double>(rate.num) / static_cast<double>(rate.den);
    if (!(info_.frame_rate > 0.0) || !std::isfinite(info_.frame_rate)) return errc::corrupt;
    const double step = sampling_.seconds_per_hash * info_.frame_rate;
    info_.frame_step = step >= 1.0 && step < 1e12 ? static_cast<std::uint64_t>(step) : 1;

    out_width_ = sampling_.width != 0 ? static_cast<int>(sampling_.width) : par->width;
    out_height_ = sampling_.height != 0 ? static_cast<int>(sampling_.height) : par->height;
    if (std::uint64_t(out_width_) * std::uint64_t(out_height_) > limits_.max_pixels) {
      return errc::too_many_pixels;
    }
    rgb_.reset(av_frame_alloc());
    if (!rgb_) return errc::out_of_memory;
    rgb_->format = AV_PIX_FMT_RGB24;
    rgb_->width = out_width_;
    rgb_->height = out_height_;
    if (av_frame_get_buffer(rgb_.get(), 0) < 0) return errc::out_of_memory;
    return {};
  }

  core::result<void> decode_all() {
    std::unique_ptr<AVPacket, packet_closer> packet(av_packet_alloc());
    frame_.reset(av_frame_alloc());
    if (!packet || !frame_) return errc::out_of_memory;
    const std::uint64_t frame_pixels = std::uint64_t{info_.width} * info_.height;
    while (true) {
      if (const errc e = budget_.check(); e != errc{}) return e;
      if (av_read_frame(format_.get(), packet.get()) < 0) break;  // the end, or unreadable data
      if (packet->stream_index != stream_index_) {
        av_packet_unref(packet.get());
        continue;
      }
      // Bound the frame this packet may hold before decoding it.
      if (info_.frames_decoded >= limits_.max_frames) return errc::too_many_frames;
      if (total_pixels_ + frame_pixels > limits_.max_total_pixels) return errc::too_many_pixels;
      const int sent = avcodec_send_packet(codec_.get(), packet.get());
      av_packet_unref(packet.get());
      if (sent < 0 && sent != AVERROR(EAGAIN)) info_.damaged = true;
      if (auto drained = drain(); !drained) return drained.error();
    }
    if (stream_cap_hit) return errc::too_many_streams;
    avcodec_send_packet(codec_.get(), nullptr);  // flush the delayed frames
    if (auto drained = drain(); !drained) return drained.error();
    if (info_.frames_decoded == 0) return errc::corrupt;
    return {};
  }

  core::result<void> drain() {
    while (true) {
      const int received = avcodec_receive_frame(codec_.get(), frame_.get());
      if (received == AVERROR(EAGAIN) || received == AVERROR_EOF) return {};
      if (received < 0) return errc::corrupt;
      const std::uint64_t number = info_.frames_decoded++;
      const std::uint64_t pixels =
          std::uint64_t(std::max(frame_->width, 0)) * std::uint64_t(std::max(frame_->height, 0));
      total_pixels_ += pixels;
      if (pixels > limits_.max_pixels || total_pixels_ > limits_.max_total_pixels) {
        return errc::too_many_pixels;
      }
      if (info_.frames_decoded > limits_.max_frames) return errc::too_many_frames;
      if (static_cast<double>(number) / info_.frame_rate > limits_.max_duration_s) {
        return errc::too_long;
      }
      if (number % info_.frame_step == 0) {
        if (auto sampled = sample(number); !sampled) return sampled.error();
      }
      av_frame_unref(frame_.get());
    }
  }

  core::result<void> sample(std::uint64_t number) {
    if (const errc e = budget_.check(); e != errc{}) return e;
    const auto format = static_cast<AVPixelFormat>(frame_->format);
    // The reference sizes its converter from the codec context when the decoder opens; a
    // stream that changes size or pixel format mid-way gets a converter for the new frames.
    sws_.reset(sws_getCachedContext(sws_.release(), frame_->width, frame_->height, format,
                                    out_width_, out_height_, AV_PIX_FMT_RGB24, SWS_AREA, nullptr,
                                    nullptr, nullptr));
    if (!sws_) return errc::corrupt;
    if (av_frame_make_writable(rgb_.get()) < 0) return errc::out_of_memory;
    sws_scale(sws_.get(), frame_->data, frame_->linesize, 0, frame_->height, rgb_->data,
              rgb_->linesize);
    const std::size_t row = std::size_t(out_width_) * 3;
    packed_.resize(row * std::size_t(out_height_));
    for (int y = 0; y < out_height_; ++y) {
      std::memcpy(packed_.data() + row * std::size_t(y),
                  rgb_->data[0] + std::ptrdiff_t{rgb_->linesize[0]} * y, row);
    }
    info_.frames_sampled++;
    const video_frame frame{number,
                            pixels_view{static_cast<std::uint32_t>(out_width_),
                                        static_cast<std::uint32_t>(out_height_), 3, packed_}};
    return sink_(frame);
  }

  memory_reader reader_;
  const video_sampling& sampling_;
  const video_limits& limits_;
  scan_budget& budget_;
  const video_frame_sink& sink_;
  video_info info_;
  std::unique_ptr<AVIOContext, avio_closer> io_;
  std::unique_ptr<AVFormatContext, format_closer> format_;
  std::unique_ptr<AVCodecContext, codec_closer> codec_;
  std::unique_ptr<AVFrame, frame_closer> frame_;
  std::unique_ptr<AVFrame, frame_closer> rgb_;
  std::unique_ptr<SwsContext, sws_closer> sws_;
  std::vector<std::uint8_t> packed_;
  int stream_index_{-1};
  int out_width_{};
  int out_height_{};
  std::uint64_t total_pixels_{};
};

}  // namespace

core::result<video_info> decode_video(std::span<const std::uint8_t> bytes,
                                      const video_sampling& sampling, const video_limits& limits,
                                      scan_budget& budget, const video_frame_sink& sink) noexcept {
  try {
    video_decode_run run(bytes, sampling, limits, budget, sink);
    return run.run();
  } catch (const std::bad_alloc&) {
    return errc::out_of_memory;
  }
}

}  // namespace hashguard::scanner
