// The shipped environment plugins as __host__ __device__ code of one episode: the grid world
// of the foraging task (plugins/gridworld) and Gymnasium's classic-control four
// (plugins/classic_control). Used by the environment kernels (envs.hip) and by the agents'
// round, which steps the grid world inside its decision kernel (agent.hip).
//
// Each environment is transcribed from its plugin operation for operation and in the
// plugin's order: the same SplitMix64 reset stream and Lemire's bounded integers, the same
// float32 roundings, pow(x, 2) where the plugin calls pow. On the host these functions agree
// with the plugins bit for bit (tests/gpu.rs steps both side by side); on a device sin, cos,
// pow and fmod are the device library's, which may round differently in the last bit; the
// grid world uses integers only and is exact everywhere.
#pragma once

#include "device.h"

#include <math.h>

#if defined(__CUDA_ARCH__) || defined(__HIP_DEVICE_COMPILE__)
#define SNNK_DEVICE_PASS 1
#endif

namespace snnk_env {


constexpr double kPi = 3.141592653589793;  // f64::consts::PI

// The high 64 bits of a·b (and the low ones into *lo).
__host__ __device__ inline uint64_t snnk_mul_wide(uint64_t a, uint64_t b, uint64_t* lo) {
    *lo = a * b;
#ifdef SNNK_DEVICE_PASS
    return __umul64hi(a, b);
#else
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
#endif
}

// x**2 as numpy takes it of a float64 scalar: the C library's pow(x, 2), which is not always
// x·x; the exponent is hidden from the compiler on the host so that the call stays a call.
__host__ __device__ inline double snnk_pow2(double x) {
#ifdef SNNK_DEVICE_PASS
    return pow(x, 2.0);
#else
    volatile double two = 2.0;
    return pow(x, two);
#endif
}

__host__ __device__ inline float snnk_pow2f(float x) {
#ifdef SNNK_DEVICE_PASS
    return powf(x, 2.0f);
#else
    volatile float two = 2.0f;
    return powf(x, two);
#endif
}

__host__ __device__ inline double snnk_clamp(double x, double lo, double hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

__host__ __device__ inline float snnk_clampf(float x, float lo, float hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

// The value's float32 rounding, as a float64 (Gymnasium's float32 observations).
__host__ __device__ inline double snnk_f32(double x) { return (double)(float)x; }

// SplitMix64 (Steele, Lea & Flood 2014): the plugins' reset stream.
struct SplitMix64 {
    uint64_t s;

    __host__ __device__ uint64_t next() {
        s += 0x9E3779B97F4A7C15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }

    // Uniform in [low, high), from the top 53 bits.
    __host__ __device__ double uniform(double low, double high) {
        const double u = (double)(next() >> 11) * (1.0 / 9007199254740992.0);
        return low + (high - low) * u;
    }

    // A uniform integer in 0..n (n > 0) without bias (Lemire 2019).
    __host__ __device__ uint64_t below(uint64_t n) {
        uint64_t lo;
        uint64_t hi = snnk_mul_wide(next(), n, &lo);
        if (lo < n) {
            const uint64_t threshold = (0 - n) % n;
            while (lo < threshold) hi = snnk_mul_wide(next(), n, &lo);
        }
        return hi;
    }
};

__host__ __device__ inline uint32_t snnk_obs_len(const SnnkEnvParams& P) {
    switch (P.kind) {
        case SNNK_ENV_GRIDWORLD: return 2 * P.size * P.size;
        case SNNK_ENV_CARTPOLE: return 4;
        case SNNK_ENV_PENDULUM: return 3;
        case SNNK_ENV_MOUNTAINCAR: return 2;
        default: return 6;  // acrobot
    }
}

// --- gridworld (plugins/gridworld) ---------------------------------------------------------

// reset(seed): the agent's cell, then the food by a partial Fisher–Yates shuffle of the other
// cells in row-major order. The shuffled list is virtual (entry k is cell k, or k + 1 past
// the agent's); only the entries a swap moved are kept, in scratch (at most `food` of them).
__host__ __device__ inline void grid_reset(const SnnkEnvParams& P, uint64_t seed,
                                           SnnkEnvState& st, uint8_t* food,
                                           uint32_t* scratch) {
    const uint32_t cells = P.size * P.size;
    SplitMix64 r{seed};
    const uint32_t agent = (uint32_t)r.below(cells);
    for (uint32_t c = 0; c < cells; ++c) food[c] = 0;
    uint32_t* pos = scratch;
    uint32_t* val = scratch + P.food;
    uint32_t moved = 0;
    const uint32_t len = cells - 1;
    for (uint32_t i = 0; i < P.food; ++i) {
        const uint32_t j = i + (uint32_t)r.below(len - i);
        uint32_t vi = i < agent ? i : i + 1, vj = j < agent ? j : j + 1;
        uint32_t at_j = moved;
        for (uint32_t k = 0; k < moved; ++k) {
            if (pos[k] == i) vi = val[k];
            if (pos[k] == j) {
                vj = val[k];
                at_j = k;
            }
        }
        // swap(i, j): entry i (final from now on) takes vj, entry j takes vi.
        if (at_j == moved) {
            pos[moved] = j;
            ++moved;
        }
        val[at_j] = vi;
        food[vj] = 1;
    }
    st.row = agent / P.size;
    st.col = agent % P.size;
    st.remaining = P.food;
    st.eaten = 0;
    st.steps = 0;
    st.phase = SNNK_ENV_RUNNING;
}

// One move: 0 up, 1 down, 2 left, 3 right; −0.01 per step, +1 per food eaten; terminated
// when no food is left, else truncated at max_steps.
__host__ __device__ inline void grid_step(const SnnkEnvParams& P, double action,
                                          SnnkEnvState& st, uint8_t* food,
                                          SnnkEnvTransition& tr) {
    if (!(action - trunc(action) == 0.0 && action >= 0.0 && action <= 3.0)) {
        tr.status = SNNK_ENV_BAD_ACTION;
        return;
    }
    const uint32_t last = P.size - 1;
    switch ((uint32_t)action) {
        case 0: st.row = st.row > 0 ? st.row - 1 : 0; break;
        case 1: st.row = st.row + 1 < last ? st.row + 1 : last; break;
        case 2: st.col = st.col > 0 ? st.col - 1 : 0; break;
        default: st.col = st.col + 1 < last ? st.col + 1 : last; break;
    }
    st.steps += 1;
    double reward = -0.01;
    const uint32_t cell = st.row * P.size + st.col;
    if (food[cell]) {
        food[cell] = 0;
        st.remaining -= 1;
        st.eaten += 1;
        reward += 1.0;
    }
    tr.reward = reward;
    tr.terminated = st.remaining == 0;
    tr.truncated = !tr.terminated && st.steps >= P.max_steps;
    if (tr.terminated || tr.truncated) st.phase = SNNK_ENV_ENDED;
}

// Channel 0: one-hot on the agent's cell; channel 1: the food cells.
__host__ __device__ inline void grid_observe(const SnnkEnvParams& P, const SnnkEnvState& st,
                                             const uint8_t* food, double* obs) {
    const uint32_t cells = P.size * P.size;
    for (uint32_t c = 0; c < cells; ++c) {
        obs[c] = 0.0;
        obs[cells + c] = food[c] ? 1.0 : 0.0;
    }
    obs[st.row * P.size + st.col] = 1.0;
}

// Encoder::active: Identity lists the agent's cell, then size² + each food cell; Egocentric
// lists the agent's cell, then the food cells on a (2·size − 1)² grid centred on the agent.
// Both in increasing order (row-major food cells keep it), as the CPU sorts them.
__host__ __device__ inline uint32_t grid_active(const SnnkEnvParams& P, uint32_t encoder,
                                                const SnnkEnvState& st, const uint8_t* food,
                                                uint32_t* out) {
    const uint32_t n = P.size, cells = n * n, w = 2 * n - 1;
    uint32_t k = 0;
    out[k++] = st.row * n + st.col;
    for (uint32_t c = 0; c < cells; ++c) {
        if (!food[c]) continue;
        if (encoder == SNNK_ENCODER_EGOCENTRIC) {
            const uint32_t dr = c / n + n - 1 - st.row, dc = c % n + n - 1 - st.col;
            out[k++] = cells + dr * w + dc;
        } else {
            out[k++] = cells + c;
        }
    }
    return k;
}

// --- classic control (plugins/classic_control) ---------------------------------------------

// CartPole-v1: Euler steps of 0.02 s, force ±10 N; reward 1 on every step.
__host__ __device__ inline bool cartpole_step(double* s, uint32_t action, double* reward) {
    const double gravity = 9.8, masscart = 1.0, masspole = 0.1, length = 0.5,
                 force_mag = 10.0, tau = 0.02;
    const double total_mass = masspole + masscart;
    const double polemass_length = masspole * length;
    const double theta_threshold = 12.0 * 2.0 * kPi / 360.0;
    const double x_threshold = 2.4;
    const double x = s[0], x_dot = s[1], theta = s[2], theta_dot = s[3];
    const double force = action == 1 ? force_mag : -force_mag;
    const double costheta = cos(theta);
    const double sintheta = sin(theta);
    const double temp = (force + polemass_length * (theta_dot * theta_dot) * sintheta) / total_mass;
    const double thetaacc = (gravity * sintheta - costheta * temp) /
                            (length * (4.0 / 3.0 - masspole * (costheta * costheta) / total_mass));
    const double xacc = temp - polemass_length * thetaacc * costheta / total_mass;
    s[0] = x + tau * x_dot;
    s[1] = x_dot + tau * xacc;
    s[2] = theta + tau * theta_dot;
    s[3] = theta_dot + tau * thetaacc;
    *reward = 1.0;
    return s[0] < -x_threshold || s[0] > x_threshold || s[2] < -theta_threshold ||
           s[2] > theta_threshold;
}

// Pendulum-v1: a float32 torque clipped to ±2, dt 0.05 s, speed clipped to ±8; the reward
// of the old state; never terminates.
__host__ __device__ inline bool pendulum_step(double* s, float u, double* reward) {
    const double max_speed = 8.0, dt = 0.05, g = 10.0, m = 1.0, l = 1.0;
    const float max_torque = 2.0f;
    u = snnk_clampf(u, -max_torque, max_torque);
    const double th = s[0], thdot = s[1];
    // rem_euclid(th + pi, 2 pi) - pi
    double r = fmod(th + kPi, 2.0 * kPi);
    if (r < 0.0) r += fabs(2.0 * kPi);
    const double th_n = r - kPi;
    const double u_cost = (double)(0.001f * snnk_pow2f(u));
    const double costs = snnk_pow2(th_n) + 0.1 * snnk_pow2(thdot) + u_cost;
    const double u_acc = (double)((float)(3.0 / (m * l * l)) * u);
    double newthdot = thdot + (3.0 * g / (2.0 * l) * sin(th) + u_acc) * dt;
    newthdot = snnk_clamp(newthdot, -max_speed, max_speed);
    s[0] = th + newthdot * dt;
    s[1] = newthdot;
    *reward = -costs;
    return false;
}

// MountainCar-v0: push left, none or right; reward −1; terminated at the goal.
__host__ __device__ inline bool mountaincar_step(double* s, uint32_t action, double* reward) {
    const double min_position = -1.2, max_position = 0.6, max_speed = 0.07,
                 goal_position = 0.5, force = 0.001, gravity = 0.0025;
    double position = s[0], velocity = s[1];
    velocity += ((double)action - 1.0) * force + cos(3.0 * position) * (-gravity);
    velocity = snnk_clamp(velocity, -max_speed, max_speed);
    position += velocity;
    position = snnk_clamp(position, min_position, max_position);
    if (position == min_position && velocity < 0.0) velocity = 0.0;
    s[0] = position;
    s[1] = velocity;
    *reward = -1.0;
    return position >= goal_position && velocity >= 0.0;
}

// Acrobot's time derivative of (θ1, θ2, θ̇1, θ̇2) under torque a ("book" dynamics).
__host__ __device__ inline void acrobot_derivs(const double* s, double a, double* out) {
    const double m1 = 1.0, m2 = 1.0, l1 = 1.0, lc1 = 0.5, lc2 = 0.5, i1 = 1.0, i2 = 1.0, g = 9.8;
    const double theta1 = s[0], theta2 = s[1], dtheta1 = s[2], dtheta2 = s[3];
    const double d1 =
        m1 * (lc1 * lc1) + m2 * (l1 * l1 + lc2 * lc2 + 2.0 * l1 * lc2 * cos(theta2)) + i1 + i2;
    const double d2 = m2 * (lc2 * lc2 + l1 * lc2 * cos(theta2)) + i2;
    const double phi2 = m2 * lc2 * g * cos(theta1 + theta2 - kPi / 2.0);
    const double phi1 = -m2 * l1 * lc2 * snnk_pow2(dtheta2) * sin(theta2) -
                        2.0 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin(theta2) +
                        (m1 * lc1 + m2 * l1) * g * cos(theta1 - kPi / 2.0) + phi2;
    const double ddtheta2 =
        (a + d2 / d1 * phi1 - m2 * l1 * lc2 * snnk_pow2(dtheta1) * sin(theta2) - phi2) /
        (m2 * (lc2 * lc2) + i2 - snnk_pow2(d2) / d1);
    const double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
    out[0] = dtheta1;
    out[1] = dtheta2;
    out[2] = ddtheta1;
    out[3] = ddtheta2;
}

__host__ __device__ inline double acrobot_wrap(double x) {
    const double m = -kPi, mx = kPi, diff = mx - m;
    while (x > mx) x -= diff;
    while (x < m) x += diff;
    return x;
}

// Acrobot-v1: torque −1, 0 or +1, one RK4 step of 0.2 s, angles wrapped, velocities clipped;
// terminated when the tip rises one link above the pivot; reward −1, 0 on that step.
__host__ __device__ inline bool acrobot_step(double* s, uint32_t action, double* reward) {
    const double torque = (double)action - 1.0;
    const double dt = 0.2, dt2 = 0.1;
    double y0[4], k1[4], k2[4], k3[4], k4[4], y[4];
    for (int i = 0; i < 4; ++i) y0[i] = s[i];
    acrobot_derivs(y0, torque, k1);
    for (int i = 0; i < 4; ++i) y[i] = y0[i] + dt2 * k1[i];
    acrobot_derivs(y, torque, k2);
    for (int i = 0; i < 4; ++i) y[i] = y0[i] + dt2 * k2[i];
    acrobot_derivs(y, torque, k3);
    for (int i = 0; i < 4; ++i) y[i] = y0[i] + dt * k3[i];
    acrobot_derivs(y, torque, k4);
    for (int i = 0; i < 4; ++i) {
        y[i] = y0[i] + dt / 6.0 * (k1[i] + 2.0 * k2[i] + 2.0 * k3[i] + k4[i]);
    }
    const double max_vel_1 = 4.0 * kPi, max_vel_2 = 9.0 * kPi;
    s[0] = acrobot_wrap(y[0]);
    s[1] = acrobot_wrap(y[1]);
    s[2] = snnk_clamp(y[2], -max_vel_1, max_vel_1);
    s[3] = snnk_clamp(y[3], -max_vel_2, max_vel_2);
    const bool terminated = -cos(s[0]) - cos(s[1] + s[0]) > 1.0;
    *reward = terminated ? 0.0 : -1.0;
    return terminated;
}

__host__ __device__ inline void classic_reset(const SnnkEnvParams& P, uint64_t seed,
                                              SnnkEnvState& st) {
    SplitMix64 r{seed};
    double* s = st.s;
    switch (P.kind) {
        case SNNK_ENV_CARTPOLE:
            for (int i = 0; i < 4; ++i) s[i] = r.uniform(-0.05, 0.05);
            break;
        case SNNK_ENV_PENDULUM:
            s[0] = r.uniform(-kPi, kPi);
            s[1] = r.uniform(-1.0, 1.0);
            break;
        case SNNK_ENV_MOUNTAINCAR:
            s[0] = r.uniform(-0.6, -0.4);
            s[1] = 0.0;
            break;
        default:  // acrobot
            for (int i = 0; i < 4; ++i) s[i] = snnk_f32(r.uniform(-0.1, 0.1));
            break;
    }
    st.steps = 0;
    st.phase = SNNK_ENV_RUNNING;
}

__host__ __device__ inline void classic_observe(const SnnkEnvParams& P, const SnnkEnvState& st,
                                                double* obs) {
    const double* s = st.s;
    switch (P.kind) {
        case SNNK_ENV_CARTPOLE:
            for (int i = 0; i < 4; ++i) obs[i] = snnk_f32(s[i]);
            break;
        case SNNK_ENV_PENDULUM:
            obs[0] = snnk_f32(cos(s[0]));
            obs[1] = snnk_f32(sin(s[0]));
            obs[2] = snnk_f32(s[1]);
            break;
        case SNNK_ENV_MOUNTAINCAR:
            obs[0] = snnk_f32(s[0]);
            obs[1] = snnk_f32(s[1]);
            break;
        default:  // acrobot
            obs[0] = snnk_f32(cos(s[0]));
            obs[1] = snnk_f32(sin(s[0]));
            obs[2] = snnk_f32(cos(s[1]));
            obs[3] = snnk_f32(sin(s[1]));
            obs[4] = snnk_f32(s[2]);
            obs[5] = snnk_f32(s[3]);
            break;
    }
}

__host__ __device__ inline void classic_step(const SnnkEnvParams& P, double action,
                                             SnnkEnvState& st, SnnkEnvTransition& tr) {
    bool terminated;
    double reward;
    if (P.kind == SNNK_ENV_PENDULUM) {
        if (!isfinite(action)) {
            tr.status = SNNK_ENV_BAD_ACTION;
            return;
        }
        terminated = pendulum_step(st.s, (float)action, &reward);
    } else {
        const double n = P.kind == SNNK_ENV_CARTPOLE ? 2.0 : 3.0;
        if (!(action - trunc(action) == 0.0 && action >= 0.0 && action < n)) {
            tr.status = SNNK_ENV_BAD_ACTION;
            return;
        }
        const uint32_t a = (uint32_t)action;
        switch (P.kind) {
            case SNNK_ENV_CARTPOLE: terminated = cartpole_step(st.s, a, &reward); break;
            case SNNK_ENV_MOUNTAINCAR: terminated = mountaincar_step(st.s, a, &reward); break;
            default: terminated = acrobot_step(st.s, a, &reward); break;
        }
    }
    st.steps += 1;
    tr.reward = reward;
    tr.terminated = terminated;
    tr.truncated = st.steps >= P.max_steps;
    if (tr.terminated || tr.truncated) st.phase = SNNK_ENV_ENDED;
}

// --- one episode, any environment ------------------------------------------------------------

__host__ __device__ inline size_t cells_of(const SnnkEnvParams& P) {
    return P.kind == SNNK_ENV_GRIDWORLD ? (size_t)P.size * P.size : 0;
}

__host__ __device__ inline void env_observe(const SnnkEnvParams& P, const SnnkEnvState& st,
                                            const uint8_t* cells, double* obs) {
    if (P.kind == SNNK_ENV_GRIDWORLD) {
        grid_observe(P, st, cells, obs);
    } else {
        classic_observe(P, st, obs);
    }
}

__host__ __device__ inline void env_reset(const SnnkEnvParams& P, uint32_t a, uint64_t seed,
                                          SnnkEnvState* states, uint8_t* cells,
                                          uint32_t* scratch, double* obs) {
    SnnkEnvState& st = states[a];
    uint8_t* mine = cells ? cells + a * cells_of(P) : nullptr;
    if (P.kind == SNNK_ENV_GRIDWORLD) {
        grid_reset(P, seed, st, mine, scratch + (size_t)a * 2 * P.food);
    } else {
        classic_reset(P, seed, st);
    }
    if (obs) env_observe(P, st, mine, obs + (size_t)a * snnk_obs_len(P));
}

__host__ __device__ inline void env_step(const SnnkEnvParams& P, uint32_t a, double action,
                                         SnnkEnvState* states, uint8_t* cells, double* obs,
                                         SnnkEnvTransition* out) {
    SnnkEnvState& st = states[a];
    SnnkEnvTransition& tr = out[a];
    tr.reward = 0.0;
    tr.terminated = 0;
    tr.truncated = 0;
    tr.status = SNNK_ENV_OK;
    tr.pad = 0;
    if (st.phase != SNNK_ENV_RUNNING) {
        tr.status = SNNK_ENV_NOT_RUNNING;
        return;
    }
    uint8_t* mine = cells ? cells + a * cells_of(P) : nullptr;
    if (P.kind == SNNK_ENV_GRIDWORLD) {
        grid_step(P, action, st, mine, tr);
    } else {
        classic_step(P, action, st, tr);
    }
    if (obs && tr.status == SNNK_ENV_OK) env_observe(P, st, mine, obs + (size_t)a * snnk_obs_len(P));
}

}  // namespace snnk_env
