window.YTD.direct_messages.part0 = [
  {
    "dmConversation" : {
      "conversationId" : "1200000000000104729-1500000000000000001",
      "messages" : [
        {
          "messageCreate" : {
            "recipientId" : "1500000000000000001",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Hi! Saw your thread on call tracking. Do you set this up for plumbers?",
            "mediaUrls" : [ ],
            "senderId" : "1200000000000104729",
            "id" : "1795000000000000001",
            "createdAt" : "2024-06-02T14:05:11.000Z"
          }
        },
        {
          "messageCreate" : {
            "recipientId" : "1200000000000104729",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "We do - want to book a 20 minute call?",
            "mediaUrls" : [ ],
            "senderId" : "1500000000000000001",
            "id" : "1795000000000000002",
            "createdAt" : "2024-06-02T15:30:00.000Z"
          }
        }
      ]
    }
  },
  {
    "dmConversation" : {
      "conversationId" : "1200000000000733103-1500000000000000001",
      "messages" : [
        {
          "messageCreate" : {
            "recipientId" : "1500000000000000001",
            "reactions" : [ ],
            "urls" : [ ],
            "text" : "Is the Saturday workshop still on?",
            "mediaUrls" : [ ],
            "senderId" : "1200000000000733103",
            "id" : "1795000000000000010",
            "createdAt" : "2024-06-20T09:00:00.000Z"
          }
        }
      ]
    }
  }
]
