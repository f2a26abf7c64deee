-- Argo CD health check for modeleval.io/ModelEvalServiceGroup (Lua 5.1, as
-- gopher-lua runs it). Reads status.phase; status.observedGeneration behind
-- metadata.generation means the operator has not seen the latest spec yet.
local hs = {}
local phases = {
  Running = "Healthy",
  Pending = "Progressing",
  Deploying = "Progressing",
  Degraded = "Degraded",
  Failed = "Degraded",
}

local status = obj.status
if status == nil or status.phase == nil or status.phase == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to deploy the service group"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local health = phases[status.phase]
if health == nil then
  hs.status = "Unknown"
  hs.message = "Unknown phase " .. tostring(status.phase)
  return hs
end

hs.status = health
local message = status.phase
if status.url ~= nil and status.url ~= "" then
  message = message .. " at " .. status.url
end
if status.message ~= nil and status.message ~= "" then
  message = message .. ": " .. status.message
end
hs.message = message
return hs
