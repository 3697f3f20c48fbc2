// A minimal chat page as a user would write it: the AI SDK's `useChat` over Vel's chat endpoint.
// Bundled by esbuild when the browser test starts; the agent id comes from the page's query string.
import { useChat } from '@ai-sdk/react'
import { DefaultChatTransport } from 'ai'
import { useState } from 'react'
import { createRoot } from 'react-dom/client'

const agentId = new URLSearchParams(location.search).get('agent') ?? 'assistant'
const transport = new DefaultChatTransport({ api: `/agents/${agentId}/chat` })

function Chat() {
  const { messages, sendMessage, status } = useChat({ transport })
  const [input, setInput] = useState('')
  return (
    <main>
      <h1>Vel chat</h1>
      {messages.map((message) => (
        <div key={message.id} className="bubble" data-role={message.role}>
          {message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('')}
        </div>
      ))}
      <form
        onSubmit={(event) => {
          event.preventDefault()
          void sendMessage({ text: input })
          setInput('')
        }}
      >
        <input aria-label="message" value={input} onChange={(event) => setInput(event.target.value)} />
        <button type="submit">Send</button>
      </form>
      <p data-testid="status">{status}</p>
    </main>
  )
}

const root = document.getElementById('root')
if (root !== null) createRoot(root).render(<Chat />)
